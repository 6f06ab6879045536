import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { v1Request } from '../../../protocol/src/node/index.js';
import { REPO } from '../../../test/harness/index.js';
import { GREETERD_DEFAULTS } from '../../src/greeterd/config.js';
import { startStack, type Stack } from './fakes.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
});
afterAll(async () => {
  await stack.stop();
});

/** Write raw bytes, collect whatever comes back until the server closes or timeoutMs passes. */
function raw(bytes: Buffer | string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(stack.greeterd.socket);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(out));
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs);
    s.write(bytes);
  });
}

const alive = async () => (await v1Request(stack.greeterd.socket, { type: 'hello', version: 1 }, 5_000)).type === 'hello_ok';

describe('greeter socket robustness', () => {
  it('malformed input gets errors and greeterd stays responsive', async () => {
    const inputs: Array<Buffer | string> = [
      'not json\n',
      '[1,2,3]\n',
      '{"type":"submit_login"}\n',
      '{"type":"submit_login","username":1,"password":[]}\n',
      '{"type":"hello","version":99}\n',
      Buffer.from([0xff, 0xfe, 0x0a]),
      '{"type":"hello","version":2,"id":1}\n{"type":"report_screen","id":2,"screen":"nope"}\n',
      '{"type":"hello","version":2,"id":1}\n{"type":"unlock","id":2,"session_id":"x","secret":"y","kind":"retina"}\n',
      '\n\n\n',
      '{"type":"hello","version":2,"id":1}\n{"type":"start_first_session","id":2,"continue_token":"forged"}\n',
    ];
    for (const i of inputs) {
      const out = await raw(i, 400);
      expect(out).toMatch(/"type":"(error|hello_ok)"/);
    }
    const big = await raw('{"type":"hello","pad":"' + 'a'.repeat(200_000) + '"}\n');
    expect(big).toMatch(/"type":"error"/);
    expect(await alive()).toBe(true);
  });

  it('random bytes never crash it', async () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n < 30; n++) {
      const len = rnd() % 300;
      const b = Buffer.alloc(len + 1);
      for (let i = 0; i < len; i++) b[i] = rnd() % 256;
      b[len] = 0x0a;
      await raw(b, 100);
    }
    expect(await alive()).toBe(true);
    expect(stack.greeterd.child.exitCode).toBeNull();
  });

  it('500 concurrent connections: refused politely past the limit, responsive afterwards', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 500 }, () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(stack.greeterd.socket);
          s.on('error', () => undefined);
          s.on('connect', () => resolve(s));
          s.on('close', () => resolve(s));
        }),
      ),
    );
    const replies = await Promise.all(
      sockets.slice(0, 20).map(
        (s) =>
          new Promise<string>((resolve) => {
            let out = '';
            s.setEncoding('utf8');
            s.on('data', (d: string) => {
              out += d;
              if (out.includes('\n')) resolve(out);
            });
            setTimeout(() => resolve(out), 3_000);
            if (!s.destroyed) s.write('{"type":"hello","version":1}\n');
          }),
      ),
    );
    expect(replies.some((r) => r.includes('hello_ok'))).toBe(true);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await alive()).toBe(true);
  });

  it('a flood of requests on one connection is rate limited, not fatal', async () => {
    const out = await raw('{"type":"hello","version":1}\n'.repeat(300), 1_500);
    expect(out).toMatch(/hello_ok/);
    expect(await alive()).toBe(true);
  });
});

describe('configuration', () => {
  it('config/defaults/greeterd.toml equals the defaults of the schema', () => {
    const text = readFileSync(path.join(REPO, 'config/defaults/greeterd.toml'), 'utf8');
    expect(JSON.parse(JSON.stringify(parse(text)))).toEqual(GREETERD_DEFAULTS);
  });
});
