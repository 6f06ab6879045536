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
    const chunksRead = spans.mock.calls.reduce((a, [first, last]) => a + (last - first + 1), 0);
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
    const chunksRead = spans.mock.calls.reduce((a, [first, last]) => a + (last - first + 1), 0);
    expect(chunksRead / chunks).toBeLessThan(1.3);
    // Served from read-ahead windows of 16 chunks, not fetched request by request.
    const requests = Math.ceil(SIZE / step);
    expect(spans.mock.calls.length).toBeLessThan(requests / 3);
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
  it('reuses a free buffer that is large enough, and keeps at most maxFree', () => {
    const b = new ReadBuffers(2, 4);
    const big = b.get(1000);
    b.put(big);
    expect(b.get(10)).toBe(big);
    expect(b.get(10)).not.toBe(big);
    b.put(Buffer.alloc(1));
    b.put(Buffer.alloc(1));
    b.put(big);
    expect(b.get(500)).not.toBe(big); // the third one was not kept
  });

  it('at most maxAhead readers hold a read-ahead: the one that read least recently drops its own', () => {
    const b = new ReadBuffers(8, 2);
    const readers = [0, 1, 2].map(() => ({ dropAhead: vi.fn() }) as unknown as RangeReader & { dropAhead: ReturnType<typeof vi.fn> });
    b.hold(readers[0]!);
    b.hold(readers[1]!);
    b.hold(readers[0]!); // read again: now the most recent
    b.hold(readers[2]!);
    expect(readers.map((r) => r.dropAhead.mock.calls.length)).toEqual([0, 1, 0]);
    b.release(readers[0]!);
    b.hold(readers[1]!);
    expect(readers.map((r) => r.dropAhead.mock.calls.length)).toEqual([0, 1, 0]);
  });
});
