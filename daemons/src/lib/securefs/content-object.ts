import type { FileHandle } from 'node:fs/promises';
import { hchacha20 } from './hchacha20.js';
import { TAG_LEN } from './xchacha.js';
import { chunkAead, type ChunkAead } from './aead.js';
import { CHUNK_SIZE, HEADER_LEN, type Header } from './header.js';
import { integrity } from './errors.js';

/** Stored size of one full chunk: 64 KiB ciphertext + 16-byte tag. */
export const STORED_CHUNK = CHUNK_SIZE + TAG_LEN;
/** Chunks per I/O batch (1 MiB of plaintext): few thread-pool hand-offs per file, and a batch stays in the CPU cache between sealing and the write. */
export const BATCH_CHUNKS = 16;
/** Batches in flight (writes) or prefetched (reads) while the main thread does crypto. */
export const PIPELINE_DEPTH = 2;

export interface CryptoStats {
  chunksEncrypted: number;
  chunksDecrypted: number;
}

export function chunkCount(plainLen: number): number {
  return Math.max(1, Math.ceil(plainLen / CHUNK_SIZE));
}

export function objectSize(plainLen: number): number {
  return HEADER_LEN + plainLen + TAG_LEN * chunkCount(plainLen);
}

/** Plaintext length and chunk count implied by an object size, or null if no valid object has it. */
export function layoutFromObjectSize(objSize: number): { plainLen: number; chunks: number } | null {
  const body = objSize - HEADER_LEN;
  if (body < TAG_LEN) return null;
  const chunks = Math.ceil(body / STORED_CHUNK);
  const last = body - (chunks - 1) * STORED_CHUNK;
  if (last < TAG_LEN || (last === TAG_LEN && chunks > 1)) return null;
  return { plainLen: body - TAG_LEN * chunks, chunks };
}

/** Per-version chunk cipher: subkey = HChaCha20(file_key, nonce_prefix), computed once. */
export class ChunkCipher {
  private readonly subkey: Buffer;
  private readonly headerTag: Buffer;
  private readonly aead: ChunkAead = chunkAead();
  /** Reused per call (all use is synchronous). */
  private readonly nonceBuf = Buffer.alloc(12);
  private readonly aadBuf = Buffer.alloc(41);

  constructor(fileKey: Buffer, header: Header) {
    this.subkey = hchacha20(fileKey, header.noncePrefix);
    this.headerTag = Buffer.from(header.tag);
    this.headerTag.copy(this.aadBuf, 0);
  }

  /** IETF nonce = 00000000 ‖ BE64(i | final<<63) (the XChaCha nonce is nonce_prefix ‖ BE64(...)). */
  static nonce(i: number, final: boolean, into: Buffer = Buffer.alloc(12)): Buffer {
    const hi = Math.floor(i / 0x100000000);
    into.writeUInt32BE(0, 0);
    into.writeUInt32BE((hi | (final ? 0x80000000 : 0)) >>> 0, 4);
    into.writeUInt32BE(i >>> 0, 8);
    return into;
  }

  /** AAD = header_tag ‖ BE64(i) ‖ u8(final). */
  aad(i: number, final: boolean, into: Buffer = Buffer.from(this.aadBuf)): Buffer {
    into.writeUInt32BE(Math.floor(i / 0x100000000), 32);
    into.writeUInt32BE(i >>> 0, 36);
    into[40] = final ? 1 : 0;
    return into;
  }

  /** Seal chunk `i` into `out`: ciphertext (pt.length bytes) ‖ tag. Returns the stored length. */
  sealInto(i: number, final: boolean, pt: Uint8Array, out: Buffer): number {
    const n = pt.length;
    this.aead.seal(this.subkey, ChunkCipher.nonce(i, final, this.nonceBuf), this.aad(i, final, this.aadBuf), pt, out.subarray(0, n), out.subarray(n, n + TAG_LEN));
    return n + TAG_LEN;
  }

  seal(i: number, final: boolean, pt: Buffer): [Buffer, Buffer] {
    const out = Buffer.allocUnsafe(pt.length + TAG_LEN);
    this.sealInto(i, final, pt, out);
    return [out.subarray(0, pt.length), out.subarray(pt.length)];
  }

  /** Authenticate and decrypt stored chunk `i` (ciphertext ‖ tag) into `out`; false (out wiped) if forged. */
  openInto(i: number, final: boolean, stored: Buffer, out: Buffer): boolean {
    if (stored.length < TAG_LEN) return false;
    const n = stored.length - TAG_LEN;
    return this.aead.open(this.subkey, ChunkCipher.nonce(i, final, this.nonceBuf), this.aad(i, final, this.aadBuf), stored.subarray(0, n), stored.subarray(n), out.subarray(0, n));
  }

  /** Plaintext after the tag verified, else null. */
  open(i: number, final: boolean, stored: Buffer): Buffer | null {
    if (stored.length < TAG_LEN) return null;
    const out = Buffer.allocUnsafe(stored.length - TAG_LEN);
    return this.openInto(i, final, stored, out) ? out : null;
  }

  destroy(): void {
    this.subkey.fill(0);
    this.aead.wipe();
  }
}

/**
 * Streams plaintext into one content object (header already chosen by the caller).
 * A chunk is sealed only once it is known whether it is the last one. Chunks are sealed straight
 * into reusable batch buffers (no per-chunk allocation); writes are pipelined: up to
 * PIPELINE_DEPTH batches are being written while the next one is sealed.
 */
export class ObjectWriter {
  private readonly cipher: ChunkCipher;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private index = 0;
  private plainLen = 0;
  private pos = 0;
  /** PIPELINE_DEPTH + 1 batch buffers used round-robin; `bufs[slot]` is being filled. */
  private readonly bufs: Buffer[] = [];
  private slot = 0;
  private batch: Buffer;
  private batchLen = 0;
  private inflight: Promise<unknown>[] = [];
  private done = false;

  /** `sizeHint`: expected plaintext length, to size the first batch buffer for small files. */
  constructor(
    private readonly fh: FileHandle,
    fileKey: Buffer,
    header: Header,
    private readonly stats: CryptoStats,
    sizeHint?: number,
  ) {
    this.cipher = new ChunkCipher(fileKey, header);
    const full = HEADER_LEN + BATCH_CHUNKS * STORED_CHUNK;
    this.batch = Buffer.allocUnsafe(sizeHint !== undefined ? Math.min(full, objectSize(sizeHint)) : full);
    this.bufs.push(this.batch);
    header.raw.copy(this.batch, 0);
    this.batchLen = header.raw.length;
  }

  get bytesWritten(): number {
    return this.plainLen + this.pendingLen;
  }

  /** Invariant: at most one chunk (≤ 64 KiB) stays pending between calls. */
  async write(data: Buffer): Promise<void> {
    if (this.done) throw new Error('ObjectWriter: write after finish');
    let off = 0;
    if (this.pendingLen > 0) {
      const need = CHUNK_SIZE - this.pendingLen;
      if (data.length <= need) {
        this.pending.push(Buffer.from(data)); // copy: the caller may reuse its buffer
        this.pendingLen += data.length;
        return;
      }
      // More data follows, so the topped-up pending chunk is not the final one.
      const chunk = Buffer.concat([...this.pending, data.subarray(0, need)], CHUNK_SIZE);
      for (const p of this.pending) p.fill(0);
      this.pending = [];
      this.pendingLen = 0;
      await this.sealChunk(chunk, false);
      chunk.fill(0);
      off = need;
    }
    // Full chunks straight from the caller's buffer, keeping at least one byte back.
    while (data.length - off > CHUNK_SIZE) {
      await this.sealChunk(data.subarray(off, off + CHUNK_SIZE), false);
      off += CHUNK_SIZE;
    }
    if (off < data.length) {
      const rest = Buffer.from(data.subarray(off));
      this.pending = [rest];
      this.pendingLen = rest.length;
    }
  }

  /** Seal the final chunk, write everything out; returns the plaintext length. */
  async finish(): Promise<number> {
    if (this.done) throw new Error('ObjectWriter: finish twice');
    this.done = true;
    const last = Buffer.concat(this.pending, this.pendingLen);
    for (const p of this.pending) p.fill(0);
    this.pending = [];
    this.pendingLen = 0;
    await this.sealChunk(last, true);
    last.fill(0);
    await this.flush();
    await Promise.all(this.inflight);
    this.cipher.destroy();
    return this.plainLen;
  }

  abort(): void {
    this.done = true;
    this.cipher.destroy();
    for (const p of this.pending) p.fill(0);
    this.pending = [];
  }

  private async sealChunk(pt: Buffer, final: boolean): Promise<void> {
    const need = pt.length + TAG_LEN;
    if (this.batchLen + need > this.batch.length) await this.flush();
    if (this.batch.length < need) {
      // Only possible for a small first buffer (sizeHint was too low): switch to full-size buffers.
      this.batch = this.bufs[this.slot] = Buffer.allocUnsafe(HEADER_LEN + BATCH_CHUNKS * STORED_CHUNK);
    }
    this.batchLen += this.cipher.sealInto(this.index, final, pt, this.batch.subarray(this.batchLen));
    this.stats.chunksEncrypted++;
    this.index++;
    this.plainLen += pt.length;
  }

  /** Write the current batch (pipelined) and move to the next buffer, whose earlier write has completed. */
  private async flush(): Promise<void> {
    if (this.batchLen === 0) return;
    while (this.inflight.length >= PIPELINE_DEPTH) await this.inflight.shift();
    const p = this.fh.write(this.batch, 0, this.batchLen, this.pos);
    p.catch(() => undefined); // surfaced when `inflight` is awaited
    this.inflight.push(p);
    this.pos += this.batchLen;
    this.batchLen = 0;
    this.slot = (this.slot + 1) % (PIPELINE_DEPTH + 1);
    if (!this.bufs[this.slot]) this.bufs[this.slot] = Buffer.allocUnsafe(HEADER_LEN + BATCH_CHUNKS * STORED_CHUNK);
    this.batch = this.bufs[this.slot]!;
  }
}

/** What the index says about an object; all of it must match. */
export interface ObjectExpectation {
  fileId: Buffer;
  headerTag: Buffer;
  size: number;
  keyGen: number;
}

/** Reads chunks of an authenticated object. Plaintext leaves only after its tag verified. */
export class ChunkReader {
  readonly chunks: number;
  /** One chunk of plaintext for partial-chunk reads (decryptRangeInto); wiped after each use. */
  private scratch: Buffer | undefined;

  constructor(
    private readonly fh: FileHandle,
    private readonly cipher: ChunkCipher,
    readonly plainLen: number,
    private readonly stats: CryptoStats,
    private readonly label: { path?: string; object?: string },
  ) {
    this.chunks = chunkCount(plainLen);
  }

  chunkPlainLen(i: number): number {
    return i === this.chunks - 1 ? this.plainLen - i * CHUNK_SIZE : CHUNK_SIZE;
  }

  /** Stored bytes (ciphertext and tags) of chunks [first, last]. */
  storedLen(first: number, last: number): number {
    return (last - first) * STORED_CHUNK + this.chunkPlainLen(last) + TAG_LEN;
  }

  /** Read the stored bytes of chunks [first, last] (inclusive) with one read; not yet authenticated. */
  async readRangeRaw(first: number, last: number, into?: Buffer): Promise<Buffer> {
    const start = HEADER_LEN + first * STORED_CHUNK;
    const len = this.storedLen(first, last);
    const buf = into && into.length >= len ? into.subarray(0, len) : Buffer.allocUnsafe(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, start);
    if (bytesRead !== len) throw integrity('truncation', 'object ended early', { ...this.label, chunk: first });
    return buf;
  }

  /**
   * The stored bytes of chunks [first, last] in batches of up to BATCH_CHUNKS, read ahead:
   * PIPELINE_DEPTH reads are in flight while the caller decrypts the batch it was handed. The
   * yielded buffer is reused once the caller asks for the next batch; not yet authenticated.
   */
  async *rawBatches(first: number, last: number): AsyncGenerator<{ raw: Buffer; first: number; last: number }> {
    if (last < first) return;
    const batches = Math.ceil((last - first + 1) / BATCH_CHUNKS);
    const nbuf = Math.min(PIPELINE_DEPTH + 1, batches);
    const size = Math.min(BATCH_CHUNKS, last - first + 1) * STORED_CHUNK;
    const bufs = Array.from({ length: nbuf }, () => Buffer.allocUnsafe(size));
    const queue: { p: Promise<Buffer>; first: number; last: number }[] = [];
    let issued = first;
    let slot = 0;
    const issue = (): void => {
      const upto = Math.min(issued + BATCH_CHUNKS - 1, last);
      const p = this.readRangeRaw(issued, upto, bufs[slot++ % nbuf]);
      p.catch(() => undefined); // surfaced when awaited below
      queue.push({ p, first: issued, last: upto });
      issued = upto + 1;
    };
    try {
      while (issued <= last && queue.length < PIPELINE_DEPTH) issue();
      while (queue.length > 0) {
        const next = queue.shift()!;
        const raw = await next.p;
        if (issued <= last) issue(); // keep reads in flight during decryption (nbuf = depth + 1)
        yield { raw, first: next.first, last: next.last };
      }
    } finally {
      await Promise.allSettled(queue.map((q) => q.p)); // never close the file under a pending read
    }
  }

  /** Read and decrypt chunks [first, last] (inclusive). */
  async readRange(first: number, last: number): Promise<Buffer[]> {
    return this.decryptBatch(await this.readRangeRaw(first, last), first, last);
  }

  /**
   * Authenticate and decrypt chunks [first, last] of `buf` (their stored bytes) straight into
   * `out` at `outOff`; returns the plaintext length. On a forged chunk the bytes written by this
   * call are wiped and an integrity error is thrown.
   */
  decryptInto(buf: Buffer, first: number, last: number, out: Buffer, outOff: number): number {
    const pos = first * CHUNK_SIZE;
    const end = last * CHUNK_SIZE + this.chunkPlainLen(last);
    try {
      this.decryptRangeInto(buf, first, last, pos, end, out.subarray(outOff));
    } catch (e) {
      out.fill(0, outOff, Math.min(out.length, outOff + (end - pos)));
      throw e;
    }
    return end - pos;
  }

  /**
   * Authenticate and decrypt chunks [first, last] of `buf` (their stored bytes), writing the
   * plaintext bytes of [pos, end) they hold into `into` at (offset in file - pos). Whole chunks
   * are decrypted straight into `into`; a partial one goes through a scratch chunk wiped after.
   * On a forged chunk an integrity error is thrown (the caller wipes what this wrote).
   */
  decryptRangeInto(buf: Buffer, first: number, last: number, pos: number, end: number, into: Buffer): void {
    let off = 0;
    for (let i = first; i <= last; i++) {
      const n = this.chunkPlainLen(i);
      const c0 = i * CHUNK_SIZE;
      const stored = buf.subarray(off, off + n + TAG_LEN);
      off += n + TAG_LEN;
      const a = Math.max(pos, c0);
      const b = Math.min(end, c0 + n);
      const final = i === this.chunks - 1;
      let ok: boolean;
      if (a === c0 && b === c0 + n) {
        ok = this.cipher.openInto(i, final, stored, into.subarray(a - pos, b - pos));
      } else {
        const s = (this.scratch ??= Buffer.allocUnsafeSlow(CHUNK_SIZE));
        ok = this.cipher.openInto(i, final, stored, s);
        if (ok) s.copy(into, a - pos, a - c0, b - c0);
        s.fill(0, 0, n);
      }
      this.stats.chunksDecrypted++;
      if (!ok) throw integrity('chunk_tag', `chunk ${i} failed authentication`, { ...this.label, chunk: i });
    }
  }

  decryptBatch(buf: Buffer, first: number, last: number): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    for (let i = first; i <= last; i++) {
      const n = this.chunkPlainLen(i) + TAG_LEN;
      const pt = this.cipher.open(i, i === this.chunks - 1, buf.subarray(off, off + n));
      this.stats.chunksDecrypted++;
      if (!pt) {
        for (const p of out) p.fill(0);
        throw integrity('chunk_tag', `chunk ${i} failed authentication`, { ...this.label, chunk: i });
      }
      out.push(pt);
      off += n;
    }
    return out;
  }

  destroy(): void {
    this.scratch?.fill(0);
    this.cipher.destroy();
  }
}
