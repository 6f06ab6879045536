import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ProtocolServer, ProtocolClient, ReconnectingClient, v1Request, SocketInUseError, type RequestHandler, type ServerOptions } from '../src/node/index.js';
import { ProtocolError } from '../src/common/index.js';

const repo = path.resolve(import.meta.dirname, '../..');
const ajv = new Ajv2020({ strict: false });
const schemaOf = (name: string) => ajv.compile(JSON.parse(readFileSync(path.join(repo, 'schemas', name), 'utf8')));
const greeterV1 = schemaOf('greeter.v1.schema.json');
const greeterV2 = schemaOf('greeter.v2.schema.json');

let dir: string;
let servers: ProtocolServer[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rb-proto-'));
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close(100)));
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

const greeterHandler: RequestHandler = async (m, ctx) => {
  switch (m.type) {
    case 'hello':
      return { type: 'hello_ok', background: '/usr/share/redbear/greeter/background.png', icon: '/usr/share/redbear/greeter/icon.png', session_name: 'KDE on Wayland', state: 'greeter_ready', message: '' };
    case 'submit_login':
      if (m.password === 'slow') await new Promise((r) => setTimeout(r, 300));
      if (m.password === 'boom') throw new Error('handler bug with secret boom');
      if (ctx.version === 2) throw new ProtocolError('auth_failed', 'Login failed');
      return { type: 'login_result', ok: false, state: 'greeter_ready', message: 'Login failed' };
    case 'request_shutdown':
    case 'request_reboot':
      return { type: 'action_result', ok: true, message: 'ok' };
    case 'list_users':
      return { type: 'list_users_result', users: [] };
    default:
      throw new ProtocolError('unknown_type', 'unhandled');
  }
};

async function start(extra: Partial<ServerOptions> = {}): Promise<ProtocolServer> {
  const s = new ProtocolServer({
    iface: 'greeter',
    socketPath: path.join(dir, 'run', 'g.sock'),
    serverName: 'test',
    handler: greeterHandler,
    helloExtra: () => ({ background: '/b.png', icon: '/i.png', session_name: 'KDE on Wayland', state: 'greeter_ready', message: '', first_boot: false, hostname: 'h' }),
    ...extra,
  });
  await s.listen();
  servers.push(s);
  return s;
}

/** A raw client: write lines, collect reply lines until `count` or close. */
function raw(sock: string, payload: string | Buffer, count = 1, timeoutMs = 2000): Promise<{ lines: Record<string, unknown>[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    let buf = '';
    const lines: Record<string, unknown>[] = [];
    let closed = false;
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve({ lines, closed });
    };
    const t = setTimeout(done, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      if (lines.length >= count) done();
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('error', () => undefined);
    s.write(payload);
  });
}

describe('ProtocolServer with a raw v1 client', () => {
  it('answers one request per connection with schema-valid v1 replies', async () => {
    const s = await start();
    const sock = s.options.socketPath;
    for (const req of [{ type: 'hello', version: 1 }, { type: 'submit_login', username: 'alice', password: 'wrong' }, { type: 'request_shutdown' }, { type: 'request_reboot' }]) {
      const { lines } = await raw(sock, JSON.stringify(req) + '\n');
      expect(lines).toHaveLength(1);
      expect(greeterV1(lines[0]), JSON.stringify(greeterV1.errors)).toBe(true);
    }
    const hello = await v1Request(sock, { type: 'hello', version: 1 });
    expect(Object.keys(hello)).toEqual(['type', 'background', 'icon', 'session_name', 'state', 'message']);
  });

  it('answers a half-closed one-shot client', async () => {
    const s = await start();
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect(s.options.socketPath);
      let out = '';
      c.on('data', (d) => (out += d));
      c.on('close', () => resolve(out));
      c.end('{"type":"hello","version":1}\n');
    });
    expect(JSON.parse(reply).type).toBe('hello_ok');
  });

  it('gives malformed frames a typed error and keeps the connection', async () => {
    const s = await start();
    const bad = ['not json', '[]', '{"type":"nope"}', '{"type":"submit_login","username":"a"}', '{"no_type":1}'].join('\n') + '\n{"type":"hello","version":1}\n';
    const { lines, closed } = await raw(s.options.socketPath, bad, 6);
    expect(lines.slice(0, 5).map((l) => l.type)).toEqual(['error', 'error', 'error', 'error', 'error']);
    for (const l of lines.slice(0, 5)) expect(greeterV1(l)).toBe(true);
    expect(lines[5]!.type).toBe('hello_ok');
    expect(closed).toBe(false);
  });

  it('closes the stream after an oversized frame', async () => {
    const s = await start();
    const { lines, closed } = await raw(s.options.socketPath, Buffer.alloc(70 * 1024, 0x61), 2);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.type).toBe('error');
    expect(closed).toBe(true);
  });

  it('turns an unexpected handler failure into an internal error without leaking it', async () => {
    const s = await start();
    const { lines } = await raw(s.options.socketPath, '{"type":"submit_login","username":"a","password":"boom"}\n{"type":"hello","version":1}\n', 2);
    expect(lines[0]).toEqual({ type: 'error', message: 'internal error' });
    expect(lines[1]!.type).toBe('hello_ok');
  });
});

describe('version 2', () => {
  it('negotiates in hello, echoes ids and types its errors', async () => {
    const s = await start();
    const { lines } = await raw(s.options.socketPath, '{"type":"hello","version":2,"id":7}\n{"type":"submit_login","id":8,"username":"a","password":"b"}\n{"type":"ping","id":9}\n{"type":"bogus","id":10}\n', 4);
    lines.sort((a, b) => (a.id as number) - (b.id as number));
    expect(lines.map((l) => [l.type, l.id, l.code])).toEqual([
      ['hello_ok', 7, undefined],
      ['error', 8, 'auth_failed'],
      ['pong', 9, undefined],
      ['error', 10, 'unknown_type'],
    ]);
    for (const l of lines) expect(greeterV2(l), JSON.stringify(greeterV2.errors)).toBe(true);
  });

  it('refuses unsupported versions and says which exist', async () => {
    const s = await start();
    const { lines } = await raw(s.options.socketPath, '{"type":"hello","version":3,"id":1}\n');
    expect(lines[0]).toMatchObject({ type: 'error', code: 'unsupported_version', supported: [1, 2] });
  });

  it('pushes validated events to subscribers only', async () => {
    const s = await start();
    const a = await ProtocolClient.connect({ iface: 'greeter', socketPath: s.options.socketPath });
    const b = await ProtocolClient.connect({ iface: 'greeter', socketPath: s.options.socketPath });
    await a.subscribe(['state']);
    const got: unknown[] = [];
    a.on('event', (e) => got.push(e));
    b.on('event', (e) => got.push(e));
    expect(s.broadcast('state', { state: 'authenticating', message: 'Authenticating' })).toBe(1);
    expect(s.broadcast('state', { state: 'nonsense', message: '' })).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual([{ type: 'event', event: 'state', seq: 0, state: 'authenticating', message: 'Authenticating' }]);
    a.close();
    b.close();
  });

  it('client maps error replies and timeouts to ProtocolErrors', async () => {
    const s = await start();
    const c = await ProtocolClient.connect({ iface: 'greeter', socketPath: s.options.socketPath });
    await expect(c.request({ type: 'submit_login', username: 'a', password: 'b' })).rejects.toMatchObject({ code: 'auth_failed' });
    await expect(c.request({ type: 'submit_login', username: 'a', password: 'slow' }, 50)).rejects.toMatchObject({ code: 'timeout' });
    c.close();
    await expect(c.request({ type: 'ping' })).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('transport limits', () => {
  it('rate-limits a connection with retry_after_ms', async () => {
    const s = await start({ rate: { perSecond: 1, burst: 2 } });
    const { lines } = await raw(s.options.socketPath, '{"type":"hello","version":2,"id":1}\n{"type":"ping","id":2}\n{"type":"ping","id":3}\n', 3);
    lines.sort((a, b) => (a.id as number) - (b.id as number));
    expect(lines[2]).toMatchObject({ type: 'error', id: 3, code: 'rate_limited' });
    expect(lines[2]!.retry_after_ms).toBeGreaterThan(0);
  });

  it('refuses connections past the maximum', async () => {
    const s = await start({ maxConnections: 2 });
    const held = [net.connect(s.options.socketPath), net.connect(s.options.socketPath)];
    await new Promise((r) => setTimeout(r, 50));
    const { lines, closed } = await raw(s.options.socketPath, '', 2);
    expect(lines[0]).toMatchObject({ code: 'busy' });
    expect(closed).toBe(true);
    held.forEach((h) => h.destroy());
  });

  it('closes idle connections', async () => {
    const s = await start({ idleTimeoutMs: 100 });
    const { closed } = await raw(s.options.socketPath, '', 5, 1000);
    expect(closed).toBe(true);
  });

  it('sets the socket mode at bind and removes only stale sockets', async () => {
    const s = await start({ mode: 0o660 });
    expect(statSync(s.options.socketPath).mode & 0o777).toBe(0o660);
    const twin = new ProtocolServer({ ...s.options, handler: greeterHandler });
    await expect(twin.listen()).rejects.toBeInstanceOf(SocketInUseError);
    // A stale socket (a server that died without unlinking) is replaced.
    const stalePath = path.join(dir, 'stale.sock');
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(stalePath, r));
    (dead as unknown as { _handle: { close(): void } })._handle.close();
    const fresh = await start({ socketPath: stalePath });
    expect(fresh.connectionCount).toBe(0);
    // A regular file is never deleted.
    const file = path.join(dir, 'file.sock');
    writeFileSync(file, 'precious');
    await expect(new ProtocolServer({ ...s.options, socketPath: file, handler: greeterHandler }).listen()).rejects.toThrow(/not a socket/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
  });

  it('drains in-flight requests on close', async () => {
    const s = await start();
    const c = await ProtocolClient.connect({ iface: 'greeter', socketPath: s.options.socketPath });
    const pending = c.request({ type: 'submit_login', username: 'a', password: 'slow' }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    await s.close(2000);
    servers = servers.filter((x) => x !== s);
    expect(await pending).toMatchObject({ code: 'auth_failed' });
  });

  it('reconnecting client comes back when the server returns', async () => {
    const s = await start();
    const rc = new ReconnectingClient({ iface: 'greeter', socketPath: s.options.socketPath, events: ['state'], minBackoffMs: 20, maxBackoffMs: 100 });
    rc.start();
    await rc.waitConnected();
    await s.close(50);
    servers = [];
    await new Promise((r) => setTimeout(r, 50));
    expect(rc.connected).toBe(false);
    await expect(rc.request({ type: 'ping' })).rejects.toMatchObject({ code: 'unavailable' });
    const s2 = await start();
    await rc.waitConnected(3000);
    const events: unknown[] = [];
    rc.on('event', (e) => events.push(e));
    s2.broadcast('state', { state: 'greeter_ready', message: '' });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toHaveLength(1);
    rc.stop();
  });
});
