import { afterEach, describe, expect, it } from 'vitest';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createStore, openStore } from './store.js';
import { objectRelPath } from './layout.js';
import { InsecureTestRng } from './insecure-test-rng.js';
import { errorCode, storeDirs, testKeys } from './insecure-test-support.js';
import { verifyStore } from './verify.js';

const dirs = storeDirs();
afterEach(() => dirs.cleanup());
const fresh = dirs.fresh;
const code = errorCode;

describe('SecureStore.openReader', () => {
  it('ranged reads (unaligned, across chunks, past the end, concurrent) equal the plaintext', async () => {
    const { store } = await fresh('reader');
    const data = new InsecureTestRng('reader').bytes(300_000);
    await store.writeFile('/f', data);
    const r = await store.openReader('/f');
    expect(r.size).toBe(data.length);
    const cases: Array<[number, number]> = [[0, 10], [65530, 20], [65536, 65536], [131000, 140000], [299_990, 100], [300_000, 10], [0, 300_000]];
    const got = await Promise.all(
      cases.map(async ([pos, len]) => {
        const into = Buffer.alloc(len);
        const n = await r.read(pos, len, into);
        return into.subarray(0, n);
      }),
    );
    cases.forEach(([pos, len], i) => expect(got[i]!.equals(data.subarray(pos, Math.min(data.length, pos + len)))).toBe(true));
    // Clamped to the destination.
    const small = Buffer.alloc(4);
    expect(await r.read(100, 1000, small)).toBe(4);
    expect(small.equals(data.subarray(100, 104))).toBe(true);
    await r.close();
    expect(await code(r.read(0, 1, Buffer.alloc(1)))).toBe('closed');
    await store.close();
  });

  it('keeps reading the version it opened; that version is not collected until close', async () => {
    const { dir, store } = await fresh('pin');
    await store.writeFile('/f', Buffer.from('first version'));
    const v1 = await store.stat('/f');
    const r = await store.openReader('/f');
    await store.writeFile('/f', Buffer.from('SECOND VERSION!'));
    await store.idle();
    const into = Buffer.alloc(13);
    expect(await r.read(0, 13, into)).toBe(13);
    expect(into.toString()).toBe('first version');
    const old = join(dir, objectRelPath(v1.fileId!, v1.version!));
    expect((await stat(old)).isFile()).toBe(true);
    await r.close();
    await store.idle();
    await expect(stat(old)).rejects.toThrow();
    await store.close();
  });

  it('a chunk tampered with after open is detected on read (the header is checked once, every chunk every time)', async () => {
    const { dir, store } = await fresh('tamper');
    await store.writeFile('/f', new InsecureTestRng('t').bytes(200_000));
    const st = await store.stat('/f');
    const r = await store.openReader('/f');
    const obj = join(dir, objectRelPath(st.fileId!, st.version!));
    const bytes = await readFile(obj);
    const at = 80 + 65536 + 16 + 5; // inside chunk 1
    bytes[at] = bytes[at]! ^ 1;
    await writeFile(obj, bytes);
    expect(await r.read(0, 100, Buffer.alloc(100))).toBe(100); // chunk 0 is intact
    await expect(r.read(65536 + 10, 10, Buffer.alloc(10))).rejects.toMatchObject({ code: 'integrity' });
    await r.close();
    await store.close();
  });
});

describe('SecureStore.openWriter', () => {
  it('streams a version of any size; nothing is visible before commit; abort leaves no trace', async () => {
    const { dir, store, k } = await fresh('writer');
    await store.writeFile('/f', Buffer.from('old'));
    const rng = new InsecureTestRng('w');
    const parts = [1, 65535, 65536, 65537, 3, 200_000].map((n) => rng.bytes(n));
    const w = await store.openWriter('/f');
    for (const p of parts) await w.write(p);
    expect(w.bytesWritten).toBe(parts.reduce((a, p) => a + p.length, 0));
    expect((await store.readFile('/f')).toString()).toBe('old');
    await w.commit();
    expect((await store.readFile('/f')).equals(Buffer.concat(parts))).toBe(true);
    const a = await store.openWriter('/g');
    await a.write(Buffer.from('never'));
    await a.abort();
    expect(await code(store.stat('/g'))).toBe('not_found');
    await store.close();
    expect((await verifyStore(dir, k.provider())).problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('refuses a target that cannot hold a file', async () => {
    const { store } = await fresh('writer-bad');
    await store.mkdir('/d');
    expect(await code(store.openWriter('/d'))).toBe('is_dir');
    expect(await code(store.openWriter('/missing/f'))).toBe('not_found');
    await store.close();
  });
});

describe('SecureStore.close', () => {
  it('a mutation arriving once close() has begun is refused; the index is never sealed after the keys are zeroed', async () => {
    const dir = await dirs.dir();
        const k = testKeys('close-race');
    const ctl = { failures: 0, delayMs: 0 };
    const provider = () => {
      const p = k.provider();
      const orig = p.checkpoint!.bind(p);
      p.checkpoint = async (e, h) => {
        if (ctl.delayMs) await new Promise((r) => setTimeout(r, ctl.delayMs));
        if (ctl.failures > 0) {
          ctl.failures--;
          throw new Error('injected');
        }
        return orig(e, h);
      };
      return p;
    };
    const s = await createStore(dir, provider());
    await s.writeFile('/a', Buffer.from('a'));
    ctl.failures = 1;
    await s.mkdir('/d'); // durable; its checkpoint is left pending (retried by the next commit)
    ctl.delayMs = 100;
    const closing = s.close();
    const late = code(s.mkdir('/e'));
    await closing;
    expect(await late).toBe('closed');
    await s.close(); // idempotent
    ctl.delayMs = 0;
    const again = await openStore(dir, provider());
    expect((await again.list('/')).map((e) => e.name).sort()).toEqual(['a', 'd']);
    await again.close();
  });
});

describe('released versions', () => {
  it('are removed in the background, a bounded number at a time; idle() waits for all of them', async () => {
    const { dir, store } = await fresh('gc');
    const count = async () => (await readdir(join(dir, 'objects'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
    for (let i = 0; i < 40; i++) await store.writeFile(`/f${i}`, Buffer.alloc(10, i));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.writeFile(`/f${i}`, Buffer.alloc(20, i))));
    for (let i = 0; i < 20; i++) await store.unlink(`/f${i}`);
    await store.idle();
    expect(await count()).toBe(20);
    for (let i = 20; i < 40; i++) expect((await store.readFile(`/f${i}`)).equals(Buffer.alloc(20, i))).toBe(true);
    await store.close();
  });
});

describe('readers and keys around close (review findings)', () => {
  it('closing a reader while a read is in flight lets the read finish (never a false tamper alarm)', async () => {
    const { store } = await fresh('inflight');
    const data = new InsecureTestRng('inflight').bytes(1 << 20);
    await store.writeFile('/f', data);
    const r = await store.openReader('/f');
    const into = Buffer.alloc(128 * 1024);
    const p = r.read(0, into.length, into);
    const c = r.close();
    expect(await p).toBe(into.length);
    expect(into.equals(data.subarray(0, into.length))).toBe(true);
    await c;
    expect(await code(r.read(0, 1, Buffer.alloc(1)))).toBe('closed');
    await store.close();
  });

  it('store.close() closes readers left open (their keys go with the store)', async () => {
    const { store } = await fresh('open-readers');
    await store.writeFile('/f', new InsecureTestRng('o').bytes(200_000));
    const r = await store.openReader('/f');
    const p = r.read(0, 65536, Buffer.alloc(65536));
    await store.close();
    expect(await p).toBe(65536); // started before close: finished first
    expect(await code(r.read(0, 10, Buffer.alloc(10)))).toBe('closed');
  });

  it('a file key that arrives after close() began is zeroed and never cached', async () => {
    const dir = await dirs.dir();
        const k = testKeys('late-key');
    const s0 = await createStore(dir, k.provider());
    await s0.writeFile('/f', Buffer.from('hello'));
    await s0.close();
    const p = k.provider();
    const handed: Buffer[] = [];
    const orig = p.fileKey.bind(p);
    p.fileKey = async (id, gen) => {
      const key = await orig(id, gen);
      await new Promise((res) => setTimeout(res, 100)); // a keystore round trip
      handed.push(key);
      return key;
    };
    const store = await openStore(dir, p);
    const read = code(store.readFile('/f'));
    await new Promise((res) => setTimeout(res, 10));
    await store.close();
    expect(await read).toBe('closed');
    expect(handed.length).toBe(1);
    expect(handed[0]!.every((b) => b === 0)).toBe(true);
  });
});
