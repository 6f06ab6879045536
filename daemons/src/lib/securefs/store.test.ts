import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createStore, openStore } from './store.js';
import { verifyStore } from './verify.js';
import { objectSize } from './content-object.js';
import { objectRelPath } from './layout.js';
import { InsecureTestRng } from './insecure-test-rng.js';
import { errorCode, storeDirs } from './insecure-test-support.js';
import { SecureFsError } from './errors.js';
import { umkKeyProvider } from './key-provider.js';

const dirs = storeDirs();
afterEach(() => dirs.cleanup());
const fresh = dirs.fresh;
const code = errorCode;

describe('SecureStore basics', () => {
  it('round-trips files of boundary sizes; object size = 80 + L + 16·n', async () => {
    const { dir, store, k } = await fresh('sizes');
    const rng = new InsecureTestRng('sizes');
    const sizes = [0, 1, 65535, 65536, 65537, 131072, 200_000];
    for (const s of sizes) await store.writeFile(`/f${s}`, rng.bytes(s));
    const rng2 = new InsecureTestRng('sizes');
    for (const s of sizes) {
      const want = rng2.bytes(s);
      expect((await store.readFile(`/f${s}`)).equals(want)).toBe(true);
      const st = await store.stat(`/f${s}`);
      expect(st.size).toBe(s);
      expect((await stat(join(dir, objectRelPath(st.fileId!, st.version!)))).size).toBe(objectSize(s));
    }
    expect(objectSize(0)).toBe(96);
    await store.close();
    const again = await openStore(dir, k.provider());
    expect((await again.readFile('/f65537')).length).toBe(65537);
    expect((await verifyStore(dir, k.provider())).ok).toBe(true);
    await again.close();
  });

  it('every rewrite uses a fresh nonce prefix and version; rename re-encrypts nothing', async () => {
    const { dir, store } = await fresh('versions');
    const data = Buffer.alloc(100_000, 7);
    await store.writeFile('/a', data);
    const s1 = await store.stat('/a');
    const o1 = await readFile(join(dir, objectRelPath(s1.fileId!, s1.version!)));
    await store.writeFile('/a', data);
    const s2 = await store.stat('/a');
    const o2 = await readFile(join(dir, objectRelPath(s2.fileId!, s2.version!)));
    expect(s2.fileId).toBe(s1.fileId);
    expect(s2.version).toBe(s1.version! + 1);
    expect(o1.subarray(8, 24).equals(o2.subarray(8, 24))).toBe(true); // same file_id
    expect(o1.subarray(24, 40).equals(o2.subarray(24, 40))).toBe(false); // new nonce prefix
    expect(o1.subarray(80).equals(o2.subarray(80))).toBe(false);
    await store.idle(); // released versions are removed in the background
    await expect(stat(join(dir, objectRelPath(s1.fileId!, s1.version!)))).rejects.toThrow(); // old version GC'd
    const enc = store.stats.chunksEncrypted;
    await store.mkdir('/docs');
    await store.rename('/a', '/docs/b');
    expect(store.stats.chunksEncrypted).toBe(enc);
    expect((await store.readFile('/docs/b')).equals(data)).toBe(true);
    expect((await store.stat('/docs/b')).fileId).toBe(s1.fileId);
    await store.close();
  });

  it('namespace operations and typed errors', async () => {
    const { store } = await fresh('ns');
    await store.mkdir('/a/b/c', { recursive: true });
    expect(await store.readdir('/')).toEqual(['a']);
    expect(await code(store.mkdir('/a'))).toBe('exists');
    expect(await code(store.mkdir('/x/y'))).toBe('not_found');
    await store.writeFile('/a/file', 'hello');
    expect(await code(store.mkdir('/a/file/z'))).toBe('not_dir');
    expect(await code(store.writeFile('/a/file/z', 'x'))).toBe('not_dir');
    expect(await code(store.writeFile('/a/b', 'x'))).toBe('is_dir');
    expect(await code(store.readFile('/a'))).toBe('is_dir');
    expect(await code(store.readFile('/nope'))).toBe('not_found');
    expect(await code(store.readdir('/a/file'))).toBe('not_dir');
    expect(await code(store.rmdir('/a'))).toBe('not_empty');
    expect(await code(store.unlink('/a/b'))).toBe('is_dir');
    expect(await code(store.readFile('/../etc/passwd'))).toBe('invalid_path');
    expect(await code(store.rename('/a', '/a/b/c/d'))).toBe('invalid_argument');
    expect(await code(store.rename('/a/file', '/a/b'))).toBe('is_dir');
    expect((await store.readFile('a/./b/../file')).toString()).toBe('hello');
    await store.rename('/a', '/z');
    expect(await store.readdir('/z')).toEqual(['b', 'file']);
    expect((await store.list('/z')).map((e) => [e.name, e.type])).toEqual([
      ['b', 'dir'],
      ['file', 'file'],
    ]);
    await store.writeFile('/z/other', 'other');
    await store.rename('/z/other', '/z/file'); // replace
    expect((await store.readFile('/z/file')).toString()).toBe('other');
    await store.unlink('/z/file');
    await store.rmdir('/z/b/c');
    expect(await store.readdir('/z/b')).toEqual([]);
    await store.close();
    expect(await code(store.readFile('/z'))).toBe('closed');
  });

  it('streams: random-access reads decrypt only the covering chunks; write streams commit on end', async () => {
    const { store } = await fresh('streams');
    const data = new InsecureTestRng('s').bytes(1_000_000);
    const ws = store.createWriteStream('/big');
    for (let off = 0; off < data.length; off += 12_345) ws.write(data.subarray(off, off + 12_345));
    expect(await store.exists('/big')).toBe(false); // nothing visible before end
    await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
    expect((await store.readFile('/big')).equals(data)).toBe(true);
    for (const [start, len] of [
      [0, 10],
      [65_530, 4096],
      [500_000, 4096],
      [999_990, 10],
      [123_456, 300_000],
    ] as const) {
      const before = store.stats.chunksDecrypted;
      const got = await store.read('/big', start, len);
      expect(got.equals(data.subarray(start, start + len))).toBe(true);
      const chunks = Math.floor((start + len - 1) / 65536) - Math.floor(start / 65536) + 1;
      expect(store.stats.chunksDecrypted - before).toBe(chunks);
    }
    const parts: Buffer[] = [];
    for await (const b of store.createReadStream('/big', { start: 70_000, end: 70_009 })) parts.push(b as Buffer);
    expect(Buffer.concat(parts).equals(data.subarray(70_000, 70_010))).toBe(true);
    await store.close();
  });

  it('write streams with arbitrary write splits produce the same file', async () => {
    const { store } = await fresh('splits');
    await fc.assert(
      fc.asyncProperty(fc.nat(300_000), fc.array(fc.integer({ min: 1, max: 140_000 }), { minLength: 1, maxLength: 8 }), async (len, cuts) => {
        const data = new InsecureTestRng(`split:${len}`).bytes(len);
        const ws = store.createWriteStream('/s');
        let off = 0;
        for (let i = 0; off < len; i++) {
          const n = cuts[i % cuts.length]!;
          ws.write(data.subarray(off, off + n));
          off += n;
        }
        await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
        expect((await store.readFile('/s')).equals(data)).toBe(true);
        expect((await store.stat('/s')).size).toBe(len);
      }),
      { numRuns: 30 },
    );
    await store.close();
  });

  it('a key provider that refuses gives `locked`; a wrong UMK cannot open the store', async () => {
    const { dir, store, k } = await fresh('locked');
    await store.writeFile('/a', 'x');
    await store.close();
    const refusing = { ...k.provider(), fileKey: () => Promise.reject(new Error('session locked')) };
    const s2 = await openStore(dir, refusing);
    expect(await code(s2.readFile('/a'))).toBe('locked');
    await s2.close();
    const wrong = umkKeyProvider(Buffer.alloc(32, 1), k.storeId, { checkpoints: null });
    const e = await openStore(dir, wrong).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SecureFsError);
    expect((e as SecureFsError).code).toBe('integrity');
    expect((e as SecureFsError).kind).toBe('config_mac');
    expect(await code(createStore(dir, k.provider()))).toBe('exists');
  });

  it('random operation sequences agree with an in-memory model', async () => {
    const { store } = await fresh('model');
    const model = new Map<string, Buffer | 'dir'>();
    const names = ['/a', '/b', '/d', '/d/x', '/d/y'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.constantFrom('write', 'mkdir', 'unlink', 'rename', 'rmdir'), fc.constantFrom(...names), fc.constantFrom(...names), fc.nat(70_000)),
          { maxLength: 12 },
        ),
        async (ops) => {
          for (const [op, p, q, n] of ops) {
            const parentOk = (x: string): boolean => !x.startsWith('/d/') || model.get('/d') === 'dir';
            const r =
              op === 'write'
                ? await code(store.writeFile(p, Buffer.alloc(n, n & 255)))
                : op === 'mkdir'
                  ? await code(store.mkdir(p))
                  : op === 'unlink'
                    ? await code(store.unlink(p))
                    : op === 'rmdir'
                      ? await code(store.rmdir(p))
                      : await code(store.rename(p, q));
            if (r !== 'ok') continue;
            if (op === 'write') {
              expect(parentOk(p)).toBe(true);
              model.set(p, Buffer.alloc(n, n & 255));
            } else if (op === 'mkdir') model.set(p, 'dir');
            else if (op === 'unlink' || op === 'rmdir') model.delete(p);
            else if (p !== q) {
              for (const [k2, v] of [...model]) {
                if (k2 === p || k2.startsWith(p + '/')) {
                  model.delete(k2);
                  model.set(q + k2.slice(p.length), v);
                }
              }
            }
          }
          for (const [p, v] of model) {
            if (v === 'dir') expect((await store.stat(p)).type).toBe('dir');
            else expect((await store.readFile(p)).equals(v)).toBe(true);
          }
          for (const p of names) expect(await store.exists(p)).toBe(model.has(p));
        },
      ),
      { numRuns: 25 },
    );
    await store.close();
  });
});
