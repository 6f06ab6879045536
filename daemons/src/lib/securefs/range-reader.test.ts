import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHUNK_SIZE, HEADER_LEN } from './header.js';
import { ChunkReader, STORED_CHUNK } from './content-object.js';
import { InsecureTestRng } from './insecure-test-rng.js';
import { storeDirs } from './insecure-test-support.js';
import { objectRelPath } from './layout.js';
import { ReadBuffers, type RangeReader } from './range-reader.js';
import type { SecureStore } from './store.js';

const dirs = storeDirs('range');
afterEach(() => {
  vi.restoreAllMocks();
  return dirs.cleanup();
});

const SIZE = 40 * CHUNK_SIZE + 12_345; // more than two batches of 16 chunks, a short last chunk

async function fileWith(seed: string): Promise<{ dir: string; store: SecureStore; data: Buffer; object: string }> {
  const { dir, store } = await dirs.fresh(seed);
  const data = new InsecureTestRng(seed).bytes(SIZE);
  await store.writeFile('/f', data);
  const st = await store.stat('/f');
  return { dir, store, data, object: join(dir, objectRelPath(st.fileId!, st.version!)) };
}

async function flipByteInChunk(object: string, chunk: number): Promise<void> {
  const bytes = await readFile(object);
  const at = HEADER_LEN + chunk * STORED_CHUNK + 7;
  bytes[at] = bytes[at]! ^ 1;
  await writeFile(object, bytes);
}

/** Stored chunks read from storage, by a spy on ChunkReader.prototype.readRangeRaw. */
const chunksReadBy = (spy: { mock: { calls: Array<[number, number, Buffer?]> } }) => spy.mock.calls.reduce((a, [first, last]) => a + (last - first + 1), 0);

const covering = (pos: number, end: number) => Math.floor((end - 1) / CHUNK_SIZE) - Math.floor(pos / CHUNK_SIZE) + 1;

describe('FileReader ranged reads (range-reader.ts)', () => {
  it('sequential walks of every step size equal the plaintext and decrypt only the chunks they cover', async () => {
    const { store, data } = await fileWith('walk');
    for (const step of [1000, CHUNK_SIZE, 2 * CHUNK_SIZE + 1, 1 << 20, 3 << 20]) {
      const r = await store.openReader('/f');
      const into = Buffer.alloc(step);
      const before = store.stats.chunksDecrypted;
      let expected = 0;
      for (let pos = 0; pos < SIZE; pos += step) {
        const n = await r.read(pos, step, into);
        expect(n).toBe(Math.min(step, SIZE - pos));
        expect(into.subarray(0, n).equals(data.subarray(pos, pos + n))).toBe(true);
        expected += covering(pos, pos + n);
      }
      // The read-ahead reads ciphertext only: nothing is decrypted that was not asked for.
      expect(store.stats.chunksDecrypted - before).toBe(expected);
      await r.close();
    }
    await store.close();
  });

  it('random and concurrent ranges (unaligned, across batches, past the end) equal the plaintext', async () => {
    const { store, data } = await fileWith('random');
    const r = await store.openReader('/f');
    const rng = new InsecureTestRng('ranges');
    const ranges = Array.from({ length: 60 }, () => {
      const pos = rng.bytes(4).readUInt32BE(0) % (SIZE + 100);
      return [pos, 1 + (rng.bytes(4).readUInt32BE(0) % (2 * 1024 * 1024))] as const;
    });
    const got = await Promise.all(
      ranges.map(async ([pos, len]) => {
        const into = Buffer.alloc(len);
        return into.subarray(0, await r.read(pos, len, into));
      }),
    );
    ranges.forEach(([pos, len], i) => expect(got[i]!.equals(data.subarray(pos, Math.min(SIZE, pos + len)))).toBe(true));
    await r.close();
    await store.close();
  });

  it('a tampered chunk fetched by the read-ahead fails the read that asks for it, and that read hands out nothing', async () => {
    const { store, data, object } = await fileWith('ahead-tamper');
    await flipByteInChunk(object, 2);
    const r = await store.openReader('/f');
    const into = Buffer.alloc(CHUNK_SIZE);
    await r.read(0, CHUNK_SIZE, into);
    await r.read(CHUNK_SIZE, CHUNK_SIZE, into); // sequential: chunk 2 is read ahead
    into.fill(0xaa);
    await expect(r.read(2 * CHUNK_SIZE, CHUNK_SIZE, into)).rejects.toMatchObject({ code: 'integrity', chunk: 2 });
    expect(into.every((b) => b === 0)).toBe(true);
    // A read spanning good chunks and the bad one is wiped whole, not only the bad chunk.
    const wide = Buffer.alloc(3 * CHUNK_SIZE, 0xaa);
    await expect(r.read(CHUNK_SIZE + 5, wide.length, wide)).rejects.toMatchObject({ code: 'integrity' });
    expect(wide.every((b) => b === 0)).toBe(true);
    // The chunks after it still read.
    expect(await r.read(3 * CHUNK_SIZE, CHUNK_SIZE, into)).toBe(CHUNK_SIZE);
    expect(into.equals(data.subarray(3 * CHUNK_SIZE, 4 * CHUNK_SIZE))).toBe(true);
    await r.close();
    await store.close();
  });

  it('a read that fails for any reason hands out nothing, also the batches before the failure', async () => {
    const { store, object } = await fileWith('truncated');
    const r = await store.openReader('/f');
    const bytes = await readFile(object);
    await writeFile(object, bytes.subarray(0, HEADER_LEN + 20 * STORED_CHUNK + 100)); // cut inside chunk 20
    const into = Buffer.alloc(2 << 20, 0xaa);
    await expect(r.read(0, into.length, into)).rejects.toMatchObject({ code: 'integrity', kind: 'truncation' });
    expect(into.every((b) => b === 0)).toBe(true);
    await r.close();
    await store.close();
  });

  it('small sequential reads that end inside a chunk do not read their chunks from storage a third time', async () => {
    const { store, data } = await fileWith('small-steps');
    const r = await store.openReader('/f');
    const spans = vi.spyOn(ChunkReader.prototype, 'readRangeRaw');
    const into = Buffer.alloc(100_000);
    const upto = 20 * CHUNK_SIZE;
    for (let pos = 0; pos < upto; pos += into.length) {
      const n = await r.read(pos, into.length, into);
      expect(into.subarray(0, n).equals(data.subarray(pos, pos + n))).toBe(true);
    }
    const chunksRead = chunksReadBy(spans);
    // Each read of 100 000 bytes covers 2-3 chunks and shares one with the read before it,
    // which is read once more: about 1.7 reads of every chunk, as with no read-ahead at all. A
    // read-ahead that began after the shared chunk, or spanned more than the next read needs,
    // made it 2.2-2.9.
    expect(chunksRead / (upto / CHUNK_SIZE)).toBeLessThan(1.9);
    await r.close();
    await store.close();
  });

  it('a sequential reader whose requests arrive two at a time, out of order, is served from read-ahead windows; each chunk is read from storage about once', async () => {
    const { store, data } = await fileWith('out-of-order');
    const r = await store.openReader('/f');
    const spans = vi.spyOn(ChunkReader.prototype, 'readRangeRaw');
    const step = 2 * CHUNK_SIZE; // what the FUSE mount is asked for
    const bufs = [Buffer.alloc(step), Buffer.alloc(step)];
    for (let pos = 0; pos < SIZE; pos += 2 * step) {
      // The later request first, as a file system may hand them over.
      const [n2, n1] = await Promise.all([r.read(pos + step, step, bufs[1]!), r.read(pos, step, bufs[0]!)]);
      expect(bufs[0]!.subarray(0, n1).equals(data.subarray(pos, pos + n1))).toBe(true);
      expect(bufs[1]!.subarray(0, n2).equals(data.subarray(pos + step, pos + step + n2))).toBe(true);
    }
    const chunks = Math.ceil(SIZE / CHUNK_SIZE);
    const chunksRead = chunksReadBy(spans);
    expect(chunksRead / chunks).toBeLessThan(1.3);
    // Served from read-ahead windows of 16 chunks, not fetched request by request.
    const requests = Math.ceil(SIZE / step);
    expect(spans.mock.calls.length).toBeLessThan(requests / 3);
    await r.close();
    await store.close();
  });

  it('more sequential readers than may hold read-ahead do not take each other\'s windows away', async () => {
    const { store, data } = await fileWith('many-readers');
    const readers = await Promise.all(Array.from({ length: 12 }, () => store.openReader('/f')));
    const spans = vi.spyOn(ChunkReader.prototype, 'readRangeRaw');
    const step = 4096;
    const upto = 8 * CHUNK_SIZE;
    const bufs = readers.map(() => Buffer.alloc(step));
    for (let pos = 0; pos < upto; pos += step) {
      await Promise.all(readers.map((r, i) => r.read(pos, step, bufs[i]!)));
      for (const b of bufs) expect(b.equals(data.subarray(pos, pos + step))).toBe(true);
    }
    const chunksRead = chunksReadBy(spans);
    // 8 readers get windows: about 8-10 chunks each. The other 4 read the chunk of each 4 KiB
    // read, as with no read-ahead: 16 per chunk, 128 each (about 630 in all). Evicting each
    // other in turn cost about 195 per chunk: some 18 000.
    expect(chunksRead).toBeLessThan(800);
    for (const r of readers) await r.close();
    await store.close();
  });

  it('two sequential streams on one reader, interleaved, each keep their read-ahead', async () => {
    const { store, data } = await fileWith('two-streams');
    const r = await store.openReader('/f');
    const spans = vi.spyOn(ChunkReader.prototype, 'readRangeRaw');
    const step = 4096;
    const starts = [0, 20 * CHUNK_SIZE];
    const into = Buffer.alloc(step);
    const span = 8 * CHUNK_SIZE;
    for (let k = 0; k < span; k += 2 * step) {
      for (const s of starts) {
        for (const off of [k, k + step]) {
          // AABB: two reads of one stream, then two of the other
          expect(await r.read(s + off, step, into)).toBe(step);
          expect(into.equals(data.subarray(s + off, s + off + step))).toBe(true);
        }
      }
    }
    const chunksRead = chunksReadBy(spans);
    // 16 chunks needed; a single shared position made it about 131 per chunk needed.
    expect(chunksRead / 16).toBeLessThan(2);
    await r.close();
    await store.close();
  });

  it('a read-ahead window whose read failed is not kept: the next read of those chunks reads them again', async () => {
    const { store, data } = await fileWith('window-fails');
    const r = await store.openReader('/f');
    const into = Buffer.alloc(2 * CHUNK_SIZE);
    await r.read(0, into.length, into);
    const orig = ChunkReader.prototype.readRangeRaw;
    let failed = 0;
    vi.spyOn(ChunkReader.prototype, 'readRangeRaw').mockImplementation(function (this: ChunkReader, first, last, buf) {
      if (failed === 0 && first >= 2) {
        failed++;
        return Promise.reject(Object.assign(new Error('EIO (injected)'), { code: 'EIO' }));
      }
      return orig.call(this, first, last, buf);
    });
    const results: Array<'ok' | 'failed'> = [];
    for (let pos = into.length; pos < 12 * CHUNK_SIZE; pos += into.length) {
      const ok = await r.read(pos, into.length, into).then(
        (n) => n === into.length && into.equals(data.subarray(pos, pos + n)),
        () => false,
      );
      results.push(ok ? 'ok' : 'failed');
    }
    expect(failed).toBe(1);
    expect(results.filter((x) => x === 'failed').length).toBeLessThanOrEqual(1);
    expect(results.at(-1)).toBe('ok');
    await r.close();
    await store.close();
  });

  it('refuses a position or length that is not an integer', async () => {
    const { store } = await fileWith('not-integer');
    const r = await store.openReader('/f');
    for (const [pos, len] of [[0.5, 10], [0, 10.5], [Number.NaN, 10], [0, Number.NaN], [2 ** 53, 10]]) {
      await expect(r.read(pos!, len!, Buffer.alloc(16))).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    await r.close();
    await store.close();
  });

  it('close() while a read-ahead is in flight waits for it; the store closes cleanly', async () => {
    const { store } = await fileWith('ahead-close');
    for (let i = 0; i < 20; i++) {
      const r = await store.openReader('/f');
      const into = Buffer.alloc(1 << 20);
      await r.read(0, into.length, into);
      void r.read(into.length, into.length, into); // sequential: starts a read-ahead
      await r.close();
    }
    await store.close();
  });

  it('sequential reads reuse their buffers instead of allocating one per read', async () => {
    const { store } = await fileWith('reuse');
    const r = await store.openReader('/f');
    const into = Buffer.alloc(128 * 1024);
    const big = (calls: unknown[][]) => calls.filter(([n]) => (n as number) >= CHUNK_SIZE).length;
    const unsafe = vi.spyOn(Buffer, 'allocUnsafe');
    const slow = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const plain = vi.spyOn(Buffer, 'alloc');
    for (let pos = 0; pos < SIZE; pos += into.length) await r.read(pos, into.length, into);
    expect(Math.ceil(SIZE / into.length)).toBeGreaterThan(15);
    expect(big(unsafe.mock.calls) + big(slow.mock.calls) + big(plain.mock.calls)).toBeLessThanOrEqual(3);
    await r.close();
    await store.close();
  });
});

describe('ReadBuffers', () => {
  const POOLED = 16 * STORED_CHUNK;

  it('pools buffers of one size only, so a small read never takes the place of a window; keeps at most maxFree', () => {
    const b = new ReadBuffers(2, 4);
    const one = b.get(10);
    expect(one.length).toBe(POOLED);
    b.put(one);
    expect(b.get(100_000)).toBe(one);
    b.put(Buffer.alloc(116)); // not pooled
    expect(b.get(10)).not.toBe(one);
    const big = b.get(POOLED + 1);
    expect(big.length).toBe(POOLED + 1);
    b.put(big); // not pooled either
    const [x, y, z] = [b.get(1), b.get(1), b.get(1)];
    b.put(x);
    b.put(y);
    b.put(z); // a third free one is not kept
    expect([b.get(1), b.get(1), b.get(1)].filter((k) => k === x || k === y || k === z)).toHaveLength(2);
  });

  it('at most maxAhead readers hold read-ahead; another gets it only from one idle for a while', () => {
    let now = 0;
    const b = new ReadBuffers(8, 2, () => now);
    const [r0, r1, r2] = [0, 1, 2].map(() => ({ dropAhead: vi.fn() }) as unknown as RangeReader & { dropAhead: ReturnType<typeof vi.fn> });
    expect(b.hold(r0!)).toBe(true);
    now = 100;
    expect(b.hold(r1!)).toBe(true);
    now = 1000;
    expect(b.hold(r2!)).toBe(false); // both holders read recently: r2 reads without read-ahead
    expect(b.hold(r0!)).toBe(true); // a holder keeps its place
    now = 2500;
    expect(b.hold(r2!)).toBe(true); // r1 has been idle for 2.4 s: it gives way
    expect([r0!, r1!, r2!].map((r) => r.dropAhead.mock.calls.length)).toEqual([0, 1, 0]);
    b.release(r0!);
    expect(b.hold(r1!)).toBe(true);
  });
});
