import { CHUNK_SIZE } from './header.js';
import { BATCH_CHUNKS, type ChunkReader } from './content-object.js';
import { SecureFsError } from './errors.js';

/** Read-ahead is kept for at most this many chunks (1 MiB of plaintext). */
const MAX_AHEAD_CHUNKS = BATCH_CHUNKS;

/**
 * Buffers for stored bytes, shared by the readers of one store: freed ones are reused (fresh
 * memory costs a page fault per 4 KiB on first touch, about a fifth of decrypting it), at most
 * `maxFree` are kept, and at most `maxAhead` readers hold a read-ahead at once (the one that
 * read least recently drops its own), so memory stays bounded however many files are open.
 * They only ever hold ciphertext.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly holders = new Set<RangeReader>();

  constructor(
    private readonly maxFree = 8,
    private readonly maxAhead = 16,
  ) {}

  get(len: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i]!.length >= len) return this.free.splice(i, 1)[0]!;
    }
    return Buffer.allocUnsafeSlow(len);
  }

  put(b: Buffer): void {
    if (this.free.length < this.maxFree) this.free.push(b);
  }

  /** `r` now holds a read-ahead. */
  hold(r: RangeReader): void {
    this.holders.delete(r);
    this.holders.add(r);
    for (const old of this.holders) {
      if (this.holders.size <= this.maxAhead) break;
      this.holders.delete(old);
      old.dropAhead();
    }
  }

  release(r: RangeReader): void {
    this.holders.delete(r);
  }

  clear(): void {
    this.free.length = 0;
  }
}

interface Fetch {
  first: number;
  last: number;
  /** The buffer read into (returned to the pool after use); `raw` is its used part. */
  buf: Buffer;
  raw: Promise<Buffer>;
}

/**
 * Ranged reads of one opened object into caller-owned buffers, the way a file system serves
 * `read(2)`: whole chunks are authenticated and decrypted straight into the caller's buffer
 * (only a partial first or last chunk goes through a scratch chunk); the stored bytes are read
 * into buffers this reader reuses; a long range is read in batches with the next batch's I/O in
 * flight while one is decrypted; and when a read starts where the previous one ended, the same
 * span after it is read ahead (ciphertext only: nothing leaves before its tag verified).
 *
 * Reads may run concurrently. `settle()` resolves once no read of the object is in flight, so the
 * caller can close the file handle under none.
 */
export class RangeReader {
  private ahead: Fetch | null = null;
  /** Where the last read ended: a read starting here is sequential. */
  private nextPos = -1;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly r: ChunkReader,
    readonly size: number,
    private readonly buffers: ReadBuffers,
  ) {}

  async read(pos: number, length: number, into: Buffer): Promise<number> {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(length)) {
      throw new SecureFsError('invalid_argument', `read: position and length must be integers (got ${pos}, ${length})`);
    }
    const end = Math.min(this.size, pos + Math.min(length, into.length));
    if (pos < 0 || end <= pos) return 0;
    const sequential = pos === this.nextPos;
    this.nextPos = end;
    const first = Math.floor(pos / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    let f = this.take(first, Math.min(last, first + BATCH_CHUNKS - 1));
    try {
      for (;;) {
        const raw = await f.raw;
        const done = f;
        // A read-ahead may hold more chunks than this read needs: only those it covers are decrypted.
        const upto = Math.min(done.last, last);
        const next = upto + 1;
        // The next batch of this read, or (for a sequential reader) the same span after it, is
        // read while this one is decrypted. The next read starts in the chunk holding `end`.
        if (next <= last) f = this.fetch(next, Math.min(last, next + BATCH_CHUNKS - 1));
        else if (sequential && !this.ahead) this.readAhead(end, end - pos);
        try {
          this.r.decryptRangeInto(raw, done.first, upto, pos, end, into);
        } finally {
          this.buffers.put(done.buf);
        }
        if (next > last) return end - pos;
      }
    } catch (e) {
      // A read that fails hands out nothing: not the plaintext of the batches before a forged
      // chunk, nor that of those before a short or failed read. A batch still in flight is left
      // to finish (settle() waits for it); its buffer is dropped.
      into.fill(0, 0, end - pos);
      throw e;
    }
  }

  /** Read ahead the chunks a read of `length` bytes at `pos` will need (at most MAX_AHEAD_CHUNKS). */
  private readAhead(pos: number, length: number): void {
    const first = Math.floor(pos / CHUNK_SIZE);
    if (first >= this.r.chunks) return;
    const last = Math.min(this.r.chunks - 1, Math.floor((pos + length - 1) / CHUNK_SIZE), first + MAX_AHEAD_CHUNKS - 1);
    this.ahead = this.fetch(first, last);
    this.buffers.hold(this);
  }

  /** The read-ahead if it starts at `first` (it may end before or after `last`), else a new read of [first, last]. */
  private take(first: number, last: number): Fetch {
    const a = this.ahead;
    if (a && a.first === first) {
      this.ahead = null;
      this.buffers.release(this);
      return a;
    }
    this.dropAhead();
    return this.fetch(first, last);
  }

  /** Forget the read-ahead (its buffer is reused once its read is over). */
  dropAhead(): void {
    const a = this.ahead;
    if (!a) return;
    this.ahead = null;
    this.buffers.release(this);
    void a.raw.then(
      () => this.buffers.put(a.buf),
      () => undefined,
    );
  }

  private fetch(first: number, last: number): Fetch {
    const buf = this.buffers.get(this.r.storedLen(first, last));
    const raw = this.r.readRangeRaw(first, last, buf);
    const tracked = raw.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(tracked);
    void tracked.then(() => this.inflight.delete(tracked));
    return { first, last, buf, raw };
  }

  /** Resolves once no read of the object is in flight (the read-ahead is dropped). */
  async settle(): Promise<void> {
    this.dropAhead();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }
}
