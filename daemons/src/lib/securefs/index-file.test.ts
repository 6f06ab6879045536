import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeIndex, encodeIndex, INDEX_HEADER_LEN, type Entry, type IndexState } from './index-file.js';
import { xchachaOpen } from './xchacha.js';

const kIndex = randomBytes(32);
const storeId = randomBytes(16);

/** The index body as the encoder wrote it (decrypted). */
function body(bytes: Buffer): string {
  const hdr = bytes.subarray(0, INDEX_HEADER_LEN);
  const pt = xchachaOpen(kIndex, hdr.subarray(32, 56), bytes.subarray(INDEX_HEADER_LEN), hdr);
  if (!pt) throw new Error('index did not authenticate');
  return pt.toString('utf8');
}

/** What the encoder must produce: the plain JSON.stringify of the sorted entries in wire form. */
function reference(entries: Map<string, Entry>): string {
  const wire = (e: Entry) =>
    e.type === 'file'
      ? { t: 'f', id: e.fileId, v: e.version, h: e.headerTag, g: e.keyGen, s: e.size, m: e.mtimeMs, p: e.mode }
      : e.type === 'dir'
        ? { t: 'd', m: e.mtimeMs, p: e.mode }
        : { t: 'l', x: e.target, m: e.mtimeMs };
  const list = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([p, e]) => [p, wire(e)]);
  const version = [...entries.values()].some((e) => e.type === 'symlink') ? 2 : 1;
  return JSON.stringify({ v: version, entries: list });
}

const file = (n: number): Entry => ({ type: 'file', fileId: n.toString(16).padStart(32, '0'), version: n, headerTag: 'ab'.repeat(32), keyGen: 1, size: n * 10, mtimeMs: 1_700_000_000_000 + n, mode: 0o600 });

describe('index encoding', () => {
  it('is the JSON of the sorted entries, byte for byte, across commits that reuse, replace, rename and remove entries', () => {
    const entries = new Map<string, Entry>([
      ['/docs', { type: 'dir', mtimeMs: 1, mode: 0o700 }],
      ['/docs/b.txt', file(2)],
      ['/docs/a.txt', file(1)],
      ['/Zeta', file(3)],
      ['/é-accent', file(4)],
      ['/😀 emoji', file(5)], // a surrogate pair: UTF-16 order, like the comparison it replaces
      ['/\uffff', file(6)],
      ['/link', { type: 'symlink', target: '../docs/a.txt', mtimeMs: 7, mode: 0o777 }],
      ['/quote"and\\back\nslash', file(8)],
    ]);
    let state: IndexState = { epoch: 1, entries };
    const check = () => {
      const bytes = encodeIndex(state, kIndex, storeId);
      expect(body(bytes)).toBe(reference(state.entries));
      expect(decodeIndex(bytes, kIndex, storeId).entries).toEqual(state.entries);
    };
    check();

    // A commit that replaces one entry (a new object), renames another (the same object under a
    // new path) and removes a third.
    const next = new Map(state.entries);
    next.set('/docs/a.txt', { ...(next.get('/docs/a.txt') as Entry & { type: 'file' }), size: 999, version: 9 });
    const moved = next.get('/docs/b.txt')!;
    next.delete('/docs/b.txt');
    next.set('/docs/renamed.txt', moved);
    next.delete('/link');
    state = { epoch: 2, entries: next };
    check();

    // The renamed object back at its old path.
    const back = new Map(state.entries);
    back.delete('/docs/renamed.txt');
    back.set('/docs/b.txt', moved);
    state = { epoch: 3, entries: back };
    check();
  });

  it('an empty index is {"v":1,"entries":[]}', () => {
    expect(body(encodeIndex({ epoch: 1, entries: new Map() }, kIndex, storeId))).toBe('{"v":1,"entries":[]}');
  });
});
