import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import fc from 'fast-check';
import { connect } from '../../../test/harness/index.js';
import { pw, startEnv, type Env } from './helpers.js';

function rawExchange(socketPath: string, payload: Buffer, waitMs = 150): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    let out = '';
    s.on('data', (d) => (out += d.toString('utf8')));
    s.on('error', () => undefined);
    s.on('connect', () => s.write(payload));
    const t = setTimeout(() => s.destroy(), waitMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

describe('keystored socket fuzz', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    await env.client.enroll(1000, 'alice', pw('alice password'));
  });
  afterAll(async () => {
    await env.cleanup();
  });

  async function responsive(): Promise<void> {
    const c = await connect('keystore', env.daemon.socket);
    try {
      expect((await c.request({ type: 'ping' })).type).toBe('pong');
    } finally {
      c.close();
    }
  }

  it('malformed frames get typed errors', async () => {
    const cases: Array<[string, string]> = [
      ['not json\n', 'invalid_json'],
      ['[1,2]\n', 'not_an_object'],
      ['{"type":"hello","version":2,"id":1}\n{"type":"nope","id":2}\n', 'unknown_type'],
      ['{"type":"hello","version":2,"id":1}\n{"type":"unlock","id":2,"uid":1000,"protector":"password","sealed":"x"}\n', 'bad_request'],
      ['{"type":"hello","version":2,"id":1}\n{"type":"file_key","id":2,"token":"a.b","file_id":"zz","key_gen":0}\n', 'bad_request'],
      ['{"type":"hello","version":1}\n', 'unsupported_version'],
    ];
    for (const [input, want] of cases) {
      const out = await rawExchange(env.daemon.socket, Buffer.from(input));
      expect(out, input).toContain(`"code":"${want}"`);
    }
    const invalidUtf8 = await rawExchange(env.daemon.socket, Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]));
    expect(invalidUtf8).toMatch(/invalid_utf8|invalid_json/);
    await responsive();
  });

  it('an oversized frame is fatal for that connection only', async () => {
    const out = await rawExchange(env.daemon.socket, Buffer.alloc(70 * 1024, 0x61), 500);
    expect(out).toContain('frame_too_large');
    await responsive();
  });

  it('random bytes and random JSON never crash it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        await rawExchange(env.daemon.socket, Buffer.concat([Buffer.from('{"type":"hello","version":2,"id":1}\n'), Buffer.from(bytes), Buffer.from('\n')]), 20);
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ type: fc.constantFrom('unlock', 'enroll', 'file_key', 'open_session', 'checkpoint', 'rewrap', 'status'), id: fc.nat() }),
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })),
        async (head, rest) => {
          const line = JSON.stringify({ ...rest, ...head }) + '\n';
          await rawExchange(env.daemon.socket, Buffer.from('{"type":"hello","version":2,"id":0}\n' + line), 20);
        },
      ),
      { numRuns: 60 },
    );
    expect(env.daemon.child.exitCode).toBeNull();
    await responsive();
  });

  it('200 concurrent connections: all answered, keystored stays responsive', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => connect('keystore', env.daemon.socket)));
    try {
      const replies = await Promise.all(clients.map((c, i) => c.request({ type: 'status', uid: 1000 + (i % 3) })));
      expect(replies.every((r) => r.type === 'status_result')).toBe(true);
      const t0 = Date.now();
      await responsive();
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      for (const c of clients) c.close();
    }
    expect(env.daemon.child.exitCode).toBeNull();
  });
});
