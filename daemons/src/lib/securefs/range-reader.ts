import { CHUNK_SIZE } from './header.js';
import { BATCH_CHUNKS, STORED_CHUNK, type ChunkReader } from './content-object.js';
import { SecureFsError } from './errors.js';

/** A read-ahead window holds at most this many chunks (1 MiB of plaintext). */
const MAX_WINDOW_CHUNKS = BATCH_CHUNKS;
/** Sequential streams tracked per reader (a file read through several descriptors at once). */
const MAX_STREAMS = 3;
/** Every pooled buffer has this size: any span (a batch or a window) fits in one. */
const POOLED_LEN = BATCH_CHUNKS * STORED_CHUNK;
/** A reader holding read-ahead that has not read for this long may lose it to another. */
const HOLD_IDLE_MS = 2000;

/**
 * Buffers for stored bytes, shared by the readers of one store. Freed ones are reused (fresh
 * memory costs a page fault per 4 KiB on first touch, about a fifth of decrypting it); all
 * pooled buffers have one size, so a small file's read never takes the place of a window's
 * buffer; at most `maxFree` are kept. At most `maxAhead` readers hold read-ahead windows at
 * once: another reader gets windows only when one of them has been idle for a while, so that
 * many readers at once never take each other's windows away before they are used. They only
 * ever hold ciphertext.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  /** Readers holding windows, with when each last read (oldest first). */
  private readonly holders = new Map<RangeReader, number>();

  constructor(
    private readonly maxFree = 8,
    private readonly maxAhead = 8,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(len: number): Buffer {
    if (len > POOLED_LEN) return Buffer.allocUnsafeSlow(len);
    return this.free.pop() ?? Buffer.allocUnsafeSlow(POOLED_LEN);
  }

  put(b: Buffer): void {
    if (b.length === POOLED_LEN && this.free.length < this.maxFree) this.free.push(b);
  }

  /** `r` wants to hold read-ahead windows: true if it may (it already does, a place is free, or it takes an idle holder's). */
  hold(r: RangeReader): boolean {
    const t = this.now();
    if (this.holders.delete(r) || this.holders.size < this.maxAhead) {
      this.holders.set(r, t);
      return true;
    }
    const [oldest, at] = this.holders.entries().next().value as [RangeReader, number];
    if (t - at < HOLD_IDLE_MS) return false;
    this.holders.delete(oldest);
    oldest.dropAhead();
    this.holders.set(r, t);
    return true;
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

/** One sequential reader of the file: how far it got, and what is read ahead for it. */
interface Stream {
  /** The furthest end of its reads. */
  pos: number;
  /** Read-ahead windows, in file order (at most three: one just left behind, the current one, the next). */
  windows: Span[];
  /** Chunks in its next window: it starts small and doubles up to MAX_WINDOW_CHUNKS. */
  size: number;
}

/**
 * Ranged reads of one opened object into caller-owned buffers, the way a file system serves
 * `read(2)`:
 * - whole chunks are authenticated and decrypted straight into the caller's buffer (only a
 *   partial first or last chunk goes through a scratch chunk); nothing leaves before its tag
 *   verified, and a read that fails wipes what it wrote;
 * - stored bytes are read into buffers shared by the store's readers (ReadBuffers);
 * - a long range is read in batches, the next batch's I/O in flight while one is decrypted;
 * - sequential streams (up to MAX_STREAMS at once, e.g. one file read through two descriptors)
 *   are each served from read-ahead windows. A stream's first window is small and each next one
 *   twice as large, up to MAX_WINDOW_CHUNKS; the next window is fetched once a read passes the
 *   middle of the last one, so small reads find their bytes already read (ciphertext only). A
 *   read counts as continuing a stream if it starts within two requests of where the stream got
 *   to, or in or just behind its windows: a file system hands a sequential reader's requests
 *   over a few at a time, not always in order. Any other read starts a new stream (the least
 *   recently used one is forgotten) and reads only the chunks it covers.
 *
 * Reads may run concurrently. `settle()` resolves once no read of the object is in flight, so the
 * caller can close the file handle under none.
 */
export class RangeReader {
  /** Most recently used last. */
  private streams: Stream[] = [];
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
    const stream = this.streamOf(pos, end, first);
    if (stream) this.readAhead(stream, first, last);
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

  /** The stream this read continues (now the most recently used), or null: it starts a new one. */
  private streamOf(pos: number, end: number, first: number): Stream | null {
    for (let i = this.streams.length - 1; i >= 0; i--) {
      const s = this.streams[i]!;
      const w0 = s.windows[0];
      const near = w0 !== undefined && first >= w0.first - MAX_WINDOW_CHUNKS && first <= s.windows[s.windows.length - 1]!.last + 1;
      if (near || Math.abs(pos - s.pos) <= 2 * (end - pos)) {
        this.streams.splice(i, 1);
        this.streams.push(s);
        s.pos = Math.max(s.pos, end);
        return s;
      }
    }
    this.streams.push({ pos: end, windows: [], size: 0 });
    if (this.streams.length > MAX_STREAMS) this.forget(this.streams.shift()!);
    return null;
  }

  /** A window holding chunk `from`, else a new single-use span [from, min(last, from + batch)]. */
  private span(from: number, last: number): Span {
    for (const s of this.streams) {
      const w = s.windows.find((x) => x.first <= from && from <= x.last);
      if (w) return w;
    }
    const s = this.fetch(from, Math.min(last, from + BATCH_CHUNKS - 1));
    s.retired = true; // used by this read only
    return s;
  }

  /**
   * Keep a stream's windows in step with its read of chunks [first, last]: drop the windows it
   * has left behind, make sure one holds `first`, and once the read passes the middle of the
   * last window, fetch the window after it.
   */
  private readAhead(s: Stream, first: number, last: number): void {
    for (const w of s.windows) if (w.last < first - 2) this.retire(w);
    s.windows = s.windows.filter((w) => !w.retired);
    const tail = s.windows[s.windows.length - 1];
    if (tail && first < s.windows[0]!.first) return; // a late request behind the windows: served on its own
    if (!this.buffers.hold(this)) {
      this.forget(s); // windows are for other readers now; this one reads what it asks for
      return;
    }
    if (!tail || first > tail.last + 1) {
      // Past every window (or none yet): start one here, small.
      this.forget(s);
      s.size = Math.min(MAX_WINDOW_CHUNKS, Math.max(2, 2 * (last - first + 1)));
      this.window(s, first);
    }
    const t = s.windows[s.windows.length - 1]!;
    const half = t.first + Math.floor((t.last - t.first) / 2);
    if (s.windows.length < 3 && last >= half && t.last + 1 < this.r.chunks) this.window(s, t.last + 1);
  }

  /** Fetch the stream's next window from chunk `first`; a window whose read fails is dropped (later reads try again). */
  private window(s: Stream, first: number): void {
    const w = this.fetch(first, Math.min(this.r.chunks - 1, first + s.size - 1));
    s.size = Math.min(MAX_WINDOW_CHUNKS, s.size * 2);
    s.windows.push(w);
    w.raw.catch(() => {
      const i = s.windows.indexOf(w);
      if (i >= 0) s.windows.splice(i, 1);
      this.retire(w);
    });
  }

  /** Forget a stream's windows (their buffers are reused once no read uses them). */
  private forget(s: Stream): void {
    for (const w of s.windows) this.retire(w);
    s.windows = [];
  }

  /** Forget every read-ahead window (ReadBuffers takes this reader's place for another). */
  dropAhead(): void {
    for (const s of this.streams) this.forget(s);
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
    this.streams = [];
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }
}

const EMPTY = Buffer.alloc(0);
