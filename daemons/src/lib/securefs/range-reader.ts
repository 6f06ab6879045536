import { CHUNK_SIZE } from './header.js';
import { BATCH_CHUNKS, STORED_CHUNK, type ChunkReader } from './content-object.js';
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
    private readonly maxAhead = 8,
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

/** Stored bytes of chunks [first, last] being read into `buf`, and who is using them. */
interface Span {
  first: number;
  last: number;
  buf: Buffer;
  raw: Promise<Buffer>;
  /** Reads decrypting from it right now. */
  users: number;
  /** No longer handed to new reads; its buffer goes back to the pool once unused and read. */
  retired: boolean;
}

/**
 * Ranged reads of one opened object into caller-owned buffers, the way a file system serves
 * `read(2)`:
 * - whole chunks are authenticated and decrypted straight into the caller's buffer (only a
 *   partial first or last chunk goes through a scratch chunk); nothing leaves before its tag
 *   verified, and a read that fails wipes what it wrote;
 * - stored bytes are read into buffers shared by the store's readers (ReadBuffers);
 * - a long range is read in batches, the next batch's I/O in flight while one is decrypted;
 * - sequential reads are served from a read-ahead window of up to MAX_AHEAD_CHUNKS stored
 *   chunks, and the window after it is fetched once a read passes the middle of the current
 *   one, so the next reads find their bytes already read (ciphertext only) however small they
 *   are. A read that does not continue the previous one drops the windows.
 *
 * Reads may run concurrently. `settle()` resolves once no read of the object is in flight, so the
 * caller can close the file handle under none.
 */
export class RangeReader {
  /** Read-ahead windows, in file order (at most three: one just left behind, the current one, the next). */
  private windows: Span[] = [];
  /** How far sequential reading got (the furthest end of a sequential read), or where the last read ended. */
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
    const first = Math.floor(pos / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    // Sequential: it starts within two requests of where the reading got to, or falls in or just
    // behind the windows (a file system hands a sequential reader's requests over a few at a
    // time, not always in order).
    const w0 = this.windows[0];
    const near = w0 !== undefined && first >= w0.first - MAX_AHEAD_CHUNKS && first <= this.windows[this.windows.length - 1]!.last + 1;
    const sequential = near || (this.nextPos >= 0 && Math.abs(pos - this.nextPos) <= 2 * (end - pos));
    if (sequential) this.readAhead(first, last);
    else this.dropAhead();
    this.nextPos = sequential ? Math.max(this.nextPos, end) : end;
    let from = first;
    let cur = this.span(from, last);
    let held: Span | null = null;
    try {
      for (;;) {
        held = cur;
        cur.users++;
        const raw = await cur.raw;
        const upto = Math.min(cur.last, last);
        // The next batch of this read is read while this one is decrypted.
        const next = upto < last ? this.span(upto + 1, last) : null;
        this.r.decryptRangeInto(raw.subarray((from - cur.first) * STORED_CHUNK), from, upto, pos, end, into);
        held = null;
        cur.users--;
        this.release(cur);
        if (!next) return end - pos;
        cur = next;
        from = upto + 1;
      }
    } catch (e) {
      // A read that fails hands out nothing: not the plaintext of the batches before a forged
      // chunk, nor that of those before a short or failed read. A batch still in flight is left
      // to finish (settle() waits for it).
      into.fill(0, 0, end - pos);
      throw e;
    } finally {
      if (held) {
        held.users--;
        this.release(held);
      }
    }
  }

  /** A window holding chunk `from`, else a new single-use span [from, min(last, from + batch)]. */
  private span(from: number, last: number): Span {
    const w = this.windows.find((x) => x.first <= from && from <= x.last);
    if (w) return w;
    const s = this.fetch(from, Math.min(last, from + BATCH_CHUNKS - 1));
    s.retired = true; // used by this read only
    return s;
  }

  /**
   * Keep the read-ahead windows in step with a sequential read of chunks [first, last]: drop
   * the windows well behind it, make sure one holds `first`, and once the read passes the
   * middle of the last window, fetch the window after it.
   */
  private readAhead(first: number, last: number): void {
    const size = MAX_AHEAD_CHUNKS;
    // Windows the reader has left behind by more than a request or two are done with.
    for (const w of this.windows) if (w.last < first - 2) this.retire(w);
    this.windows = this.windows.filter((w) => !w.retired);
    const tail = this.windows[this.windows.length - 1];
    if (!tail || first > tail.last + 1) {
      // Past every window (or none yet): start one here.
      this.dropAhead();
      this.windows.push(this.fetch(first, Math.min(this.r.chunks - 1, first + size - 1)));
    } else if (first < this.windows[0]!.first) {
      return; // a late request behind the windows: served on its own, the windows stay
    }
    const t = this.windows[this.windows.length - 1]!;
    const half = t.first + Math.floor((t.last - t.first) / 2);
    if (this.windows.length < 3 && last >= half && t.last + 1 < this.r.chunks) {
      this.windows.push(this.fetch(t.last + 1, Math.min(this.r.chunks - 1, t.last + size)));
    }
    this.buffers.hold(this);
  }

  /** Forget the read-ahead windows (their buffers are reused once no read uses them). */
  dropAhead(): void {
    if (this.windows.length === 0) return;
    for (const w of this.windows) this.retire(w);
    this.windows = [];
    this.buffers.release(this);
  }

  private retire(s: Span): void {
    s.retired = true;
    this.release(s);
  }

  /** Back to the pool once retired, unused, and no longer being read into. */
  private release(s: Span): void {
    if (!s.retired || s.users > 0) return;
    const buf = s.buf;
    s.buf = EMPTY; // never given back twice
    if (buf === EMPTY) return;
    void s.raw.then(
      () => this.buffers.put(buf),
      () => undefined,
    );
  }

  private fetch(first: number, last: number): Span {
    const buf = this.buffers.get(this.r.storedLen(first, last));
    const raw = this.r.readRangeRaw(first, last, buf);
    const tracked = raw.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(tracked);
    void tracked.then(() => this.inflight.delete(tracked));
    return { first, last, buf, raw, users: 0, retired: false };
  }

  /** Resolves once no read of the object is in flight (the read-ahead is dropped). */
  async settle(): Promise<void> {
    this.dropAhead();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }
}

const EMPTY = Buffer.alloc(0);
