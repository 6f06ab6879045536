import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { assertNoSecrets } from '../../../test/harness/index.js';
import { startAuthd, type Authd } from './helpers.js';

function raw(socket: string, data: Buffer | string, { end = true, wait = 300 } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(socket, () => (end ? s.end(data) : s.write(data)));
    let out = '';
    s.on('data', (b) => (out += b.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (out += `ERR:${e.code ?? 'unknown'}`));
    s.on('close', () => resolve(out));
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, wait).unref();
  });
}

describe('authd socket robustness', () => {
  let d: Authd;
  beforeAll(async () => {
    d = await startAuthd([{ name: 'fay', password: 'Fay-Password-1' }], '[socket]\nmax_connections = 1200\n');
  });
  afterAll(async () => {
    await d?.stop();
    d?.root.cleanup();
  });

  const responsive = async () => {
    const c = await d.client();
    const r = await c.request({ type: 'list_users' });
    c.close();
    expect(r.type).toBe('list_users_result');
  };

  it('answers malformed input with errors and stays up', async () => {
    const junk = ['{', 'null\n', '[]\n', '"x"\n', '{"type":1}\n', '{"type":"authenticate"}\n', '\xff\xfe\n', '{"type":"hello","version":2,"id":"x"}\n', '{"type":"hello","version":99}\n'];
    for (const j of junk) await raw(d.socket, Buffer.from(j, 'latin1'));
    const out = await raw(d.socket, '{"type":"hello","version":2,"id":1}\n{"type":"authenticate","id":2,"username":"fay","password":5,"vt":1,"purpose":"login"}\n');
    expect(out).toContain('"code":"bad_request"');
    await responsive();
  });

  it('drops oversized frames', async () => {
    const big = '{"type":"authenticate","password":"' + 'A'.repeat(200_000) + '"}\n';
    const out = await raw(d.socket, big, { end: false, wait: 1000 });
    // A v1-shaped error (the connection never said hello), then the connection is closed.
    expect(out).toMatch(/^\{"type":"error","message":"frame exceeds/);
    await responsive();
  });

  it('slow clients (byte by byte, and never finishing) do not block others', async () => {
    const slow = Array.from({ length: 20 }, () => {
      const s = net.connect(d.socket);
      s.on('error', () => undefined);
      s.write('{"type":"hello",');
      return s;
    });
    await responsive();
    for (const s of slow) s.destroy();
  });

  it('1,000 concurrent connections: every one is answered (or told busy) and authd stays responsive', async () => {
    // The kernel's listen backlog may refuse a burst (EAGAIN): such clients retry, as real ones do.
    const one = async (i: number): Promise<string> => {
      for (let attempt = 0; ; attempt++) {
        const r = await raw(d.socket, `{"type":"hello","version":2,"id":${i}}\n{"type":"ping","id":${i + 1}}\n`, { wait: 20_000 });
        if (!/ERR:(EAGAIN|ECONNREFUSED)/.test(r) || attempt > 20) return r;
        await new Promise((res) => setTimeout(res, 20 + Math.random() * 50));
      }
    };
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => one(i)));
    const ok = replies.filter((r) => r.includes('"pong"')).length;
    const busy = replies.filter((r) => r.includes('"busy"')).length;
    expect(ok + busy).toBe(1000);
    expect(ok).toBeGreaterThan(500);
    await responsive();
  }, 60_000);

  it('many concurrent wrong passwords are throttled, and list_users still answers', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => d.client()));
    const codes = await Promise.all(
      clients.map((c, i) => c.request({ type: 'authenticate', username: 'fay', password: `wrong-${i}-Secret`, vt: 1, purpose: 'login' }).then(() => 'ok', (e: { code: string }) => e.code)),
    );
    expect(codes.filter((c) => c === 'auth_failed')).toHaveLength(5);
    expect(codes.filter((c) => c === 'rate_limited')).toHaveLength(15);
    await responsive();
    for (const c of clients) c.close();
    assertNoSecrets({ logs: d.logs() }, ['Fay-Password-1', ...Array.from({ length: 20 }, (_, i) => `wrong-${i}-Secret`)]);
  });
});
