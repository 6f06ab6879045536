import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineDecoder, encodeLine, MAX_FRAME_BYTES } from './framing.js';
import { isErrorCode, ProtocolError } from './errors.js';
import { validateRequest } from './validate.js';
import { INTERFACES, type InterfaceName } from './registry.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('LineDecoder', () => {
  it('splits lines across arbitrary chunk boundaries', () => {
    const d = new LineDecoder();
    const frames = [...d.push(enc('{"type":"a"}\n{"ty')), ...d.push(enc('pe":"b"}\r\n'))];
    expect(frames).toEqual([
      { kind: 'message', value: { type: 'a' } },
      { kind: 'message', value: { type: 'b' } },
    ]);
  });

  it('reports each kind of malformed line with a typed, non-fatal error', () => {
    const d = new LineDecoder();
    const codes = d.push(Uint8Array.from([...enc('not json\n'), 0xff, 0xfe, 0x0a, ...enc('[1,2]\n"s"\nnull\n\n')])).map((f) =>
      f.kind === 'error' ? [f.error.code, f.fatal] : ['message'],
    );
    expect(codes).toEqual([
      ['invalid_json', false],
      ['invalid_utf8', false],
      ['not_an_object', false],
      ['not_an_object', false],
      ['not_an_object', false],
      ['invalid_json', false],
    ]);
    expect(d.isBroken).toBe(false);
  });

  it('treats an oversized line as fatal, with or without its newline', () => {
    const a = new LineDecoder();
    const big = 'x'.repeat(MAX_FRAME_BYTES);
    const fa = a.push(enc(big + '\n'));
    expect(fa).toHaveLength(1);
    expect(fa[0]).toMatchObject({ kind: 'error', fatal: true });
    expect(a.isBroken).toBe(true);
    expect(a.push(enc('{"type":"a"}\n'))).toEqual([]);
    const b = new LineDecoder();
    expect(b.push(enc(big.slice(1)))).toEqual([]);
    expect(b.push(enc('yy'))[0]).toMatchObject({ kind: 'error', fatal: true });
  });

  it('accepts a frame of exactly the limit', () => {
    const d = new LineDecoder();
    const body = JSON.stringify({ type: 'x', pad: '' });
    const pad = 'p'.repeat(MAX_FRAME_BYTES - body.length - 1);
    const line = JSON.stringify({ type: 'x', pad }) + '\n';
    expect(enc(line).length).toBe(MAX_FRAME_BYTES);
    expect(d.push(enc(line))[0]).toMatchObject({ kind: 'message' });
  });

  it('zeroes the bytes it consumed (lines may carry passwords)', () => {
    const d = new LineDecoder();
    const chunk = enc('{"type":"submit_login","password":"hunter2"}\n{"partial":"sec');
    d.push(chunk);
    expect(chunk.every((b) => b === 0)).toBe(true);
  });

  it('round-trips encodeLine and refuses oversized output', () => {
    const d = new LineDecoder();
    expect(d.push(encodeLine({ type: 'hello', version: 1 }))).toEqual([{ kind: 'message', value: { type: 'hello', version: 1 } }]);
    expect(() => encodeLine({ type: 'x', pad: 'x'.repeat(MAX_FRAME_BYTES) })).toThrow(ProtocolError);
  });
});

describe('codec fuzz', () => {
  const ifaces = Object.keys(INTERFACES) as InterfaceName[];

  it('never throws on 10,000 generated inputs and types every rejection', () => {
    let runs = 0;
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ maxLength: 200 }).map((s) => enc(s + '\n')),
      fc.json({ maxDepth: 3 }).map((j) => enc(j + '\n')),
      fc
        .record({ type: fc.constantFrom('hello', 'submit_login', 'authenticate', 'ping', 'subscribe', 'x'), id: fc.anything(), version: fc.anything(), username: fc.anything(), password: fc.anything() }, { requiredKeys: [] })
        .map((o) => enc(JSON.stringify(o) + '\n')),
    );
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), (frames, split) => {
        runs++;
        const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let o = 0;
        for (const f of frames) {
          all.set(f, o);
          o += f.length;
        }
        const d = new LineDecoder(4096);
        for (let i = 0; i < all.length; i += split) {
          for (const f of d.push(all.slice(i, i + split))) {
            if (f.kind === 'error') {
              expect(f.error).toBeInstanceOf(ProtocolError);
              expect(isErrorCode(f.error.code)).toBe(true);
              continue;
            }
            for (const iface of ifaces) {
              for (const v of [1, 2] as const) {
                if (!INTERFACES[iface].versions[v]) continue;
                const r = validateRequest(iface, v, f.value);
                if (!r.ok) expect(isErrorCode(r.error.code)).toBe(true);
              }
            }
          }
        }
      }),
      { numRuns: 10_000 },
    );
    expect(runs).toBeGreaterThanOrEqual(10_000);
  });
});
