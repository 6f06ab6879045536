import type { FileHandle } from 'node:fs/promises';
import { hchacha20 } from './hchacha20.js';
import { ietfOpen, ietfSeal, TAG_LEN } from './xchacha.js';
import { CHUNK_SIZE, HEADER_LEN, type Header } from './header.js';
import { integrity } from './errors.js';

/** Stored size of one full chunk: 64 KiB ciphertext + 16-byte tag. */
export const STORED_CHUNK = CHUNK_SIZE + TAG_LEN;
/** Chunks per I/O batch (4 MiB of plaintext): few thread-pool hand-offs per file. */
export const BATCH_CHUNKS = 64;
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

  constructor(fileKey: Buffer, header: Header) {
    this.subkey = hchacha20(fileKey, header.noncePrefix);
    this.headerTag = Buffer.from(header.tag);
  }

  /** IETF nonce = 00000000 ‖ BE64(i | final<<63) (the XChaCha nonce is nonce_prefix ‖ BE64(...)). */
  static nonce(i: number, final: boolean): Buffer {
    const n = Buffer.alloc(12);
    const hi = Math.floor(i / 0x100000000);
    n.writeUInt32BE((hi | (final ? 0x80000000 : 0)) >>> 0, 4);
    n.writeUInt32BE(i >>> 0, 8);
    return n;
  }

  /** AAD = header_tag ‖ BE64(i) ‖ u8(final). */
  aad(i: number, final: boolean): Buffer {
    const a = Buffer.allocUnsafe(41);
    this.headerTag.copy(a, 0);
    a.writeUInt32BE(Math.floor(i / 0x100000000), 32);
    a.writeUInt32BE(i >>> 0, 36);
    a[40] = final ? 1 : 0;
    return a;
  }

  seal(i: number, final: boolean, pt: Buffer): [Buffer, Buffer] {
    return ietfSeal(this.subkey, ChunkCipher.nonce(i, final), pt, this.aad(i, final));
  }

  /** Plaintext after the tag verified, else null. */
  open(i: number, final: boolean, stored: Buffer): Buffer | null {
    if (stored.length < TAG_LEN) return null;
    const ct = stored.subarray(0, stored.length - TAG_LEN);
    const tag = stored.subarray(stored.length - TAG_LEN);
    return ietfOpen(this.subkey, ChunkCipher.nonce(i, final), ct, tag, this.aad(i, final));
  }

  destroy(): void {
    this.subkey.fill(0);
  }
}

/**
 * Streams plaintext into one content object (header already chosen by the caller).
 * A chunk is sealed only once it is known whether it is the last one; writes are pipelined
 * (one batch in flight while the next is encrypted).
 */
export class ObjectWriter {
  private readonly cipher: ChunkCipher;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private index = 0;
  private plainLen = 0;
  private pos: number;
  private batch: Buffer[] = [];
  private batchLen = 0;
  private inflight: Promise<unknown>[] = [];
  private done = false;

  constructor(
    private readonly fh: FileHandle,
    fileKey: Buffer,
    private readonly header: Header,
    private readonly stats: CryptoStats,
  ) {
    this.cipher = new ChunkCipher(fileKey, header);
    this.batch.push(header.raw);
    this.batchLen = header.raw.length;
    this.pos = 0;
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
      this.pending = [];
      this.pendingLen = 0;
      this.sealChunk(chunk, false);
      off = need;
    }
    // Full chunks straight from the caller's buffer (zero copy), keeping at least one byte back.
    while (data.length - off > CHUNK_SIZE) {
      this.sealChunk(data.subarray(off, off + CHUNK_SIZE), false);
      off += CHUNK_SIZE;
      if (this.batchLen >= BATCH_CHUNKS * STORED_CHUNK) await this.flush();
    }
    if (off < data.length) {
      const rest = Buffer.from(data.subarray(off));
      this.pending = [rest];
      this.pendingLen = rest.length;
    }
    if (this.batchLen >= BATCH_CHUNKS * STORED_CHUNK) await this.flush();
  }

  /** Seal the final chunk, write everything out; returns the plaintext length. */
  async finish(): Promise<number> {
    if (this.done) throw new Error('ObjectWriter: finish twice');
    this.done = true;
    const last = Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    this.sealChunk(last, true);
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

  private sealChunk(pt: Buffer, final: boolean): void {
    const [ct, tag] = this.cipher.seal(this.index, final, pt);
    this.stats.chunksEncrypted++;
    this.index++;
    this.plainLen += pt.length;
    this.batch.push(ct, tag);
    this.batchLen += ct.length + tag.length;
  }

  private async flush(): Promise<void> {
    if (this.batchLen === 0) return;
    const bufs = this.batch;
    const at = this.pos;
    this.pos += this.batchLen;
    this.batch = [];
    this.batchLen = 0;
    while (this.inflight.length >= PIPELINE_DEPTH) await this.inflight.shift();
    const p = this.fh.writev(bufs, at);
    p.catch(() => undefined); // surfaced when `inflight` is awaited
    this.inflight.push(p);
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

  /** Read the stored bytes of chunks [first, last] (inclusive) with one read; not yet authenticated. */
  async readRangeRaw(first: number, last: number, into?: Buffer): Promise<Buffer> {
    const start = HEADER_LEN + first * STORED_CHUNK;
    let len = 0;
    for (let i = first; i <= last; i++) len += this.chunkPlainLen(i) + TAG_LEN;
    const buf = into && into.length >= len ? into.subarray(0, len) : Buffer.allocUnsafe(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, start);
    if (bytesRead !== len) throw integrity('truncation', 'object ended early', { ...this.label, chunk: first });
    return buf;
  }

  /** Read and decrypt chunks [first, last] (inclusive). */
  async readRange(first: number, last: number): Promise<Buffer[]> {
    return this.decryptBatch(await this.readRangeRaw(first, last), first, last);
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
    this.cipher.destroy();
  }
}
