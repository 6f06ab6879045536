import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { isSecureFsError, SecureFsError, type FileReader, type FileWriter, type SecureStore, type StoreStat } from '../securefs/index.js';
import { cloexecFuseFds } from './cloexec.js';
import { loadFuse, type FuseInstance, type FuseOps, type FuseStat, type FuseStatfs } from './binding.js';
import { err, isIntegrityError, toErrno } from './errno.js';

const E = constants.errno;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const NO_ID = 0xffffffff; // chown(-1)
/**
 * libfuse 2 hands UTIME_NOW / UTIME_OMIT to utimens as tv_sec 0, tv_nsec 2^30-1 / 2^30-2, which
 * fuse-native turns into 1073 ms after the epoch. Both are read as "now".
 */
const UTIME_SPECIAL_MS = 1073;

export const DEFAULT_MAX_FILE_BUFFER = 256 * 1024 * 1024;
export const DEFAULT_LOCKED_WAIT_MS = 5_000;
const MOUNT_TIMEOUT_MS = 10_000;
const DRAIN_TIMEOUT_MS = 10_000;
const MIN_CAPACITY = 64 * 1024;

export interface MountOptions {
  /** Owner reported for every file and directory (the session user). */
  uid: number;
  gid: number;
  /**
   * Integrity failures (tampering, corruption, rollback) and unexpected errors. They reach the
   * caller as EIO; this is where they are logged loudly. Default: console.error.
   */
  onError?: (e: Error, ctx: { op: string; path: string }) => void;
  /**
   * While detached (session locked, store closed): how long a request waits for `attach` before
   * it fails with EACCES. 0 = fail at once. Default 5000.
   */
  lockedWaitMs?: number;
  /**
   * Largest file content held in memory for random-access writes (bytes). Sequential writes are
   * not limited by it: a file written from offset 0 on, or appended to at its end, is streamed
   * into a new version instead. Only a non-sequential write (or truncate) to a file larger than
   * this fails, with EFBIG. Default 256 MiB.
   */
  maxFileBuffer?: number;
  /** fuse-native debug output. */
  debug?: boolean;
}

export interface MountStats {
  openFiles: number;
  openHandles: number;
  dirtyFiles: number;
  bufferedBytes: number;
  /** Files being written sequentially, streamed into a new version (no content in memory). */
  streamingFiles: number;
  commits: number;
}

/** A SecureFS store mounted with FUSE. */
export interface StoreMount {
  readonly mountpoint: string;
  /** Whether a store is attached (requests are served). */
  readonly attached: boolean;
  readonly stats: Readonly<MountStats>;
  /** Commit every file with buffered writes as a new version. */
  flush(): Promise<void>;
  /**
   * Commit buffered writes, drop cached plaintext and stop using the store (the caller may then
   * close it). The mount stays; requests wait up to `lockedWaitMs` for `attach`, then EACCES.
   */
  detach(): Promise<void>;
  /** Serve requests from `store` again (a reopened store of the same home). */
  attach(store: SecureStore): void;
  /** Commit buffered writes, then unmount (lazily when busy). Idempotent. */
  unmount(): Promise<void>;
}

class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(f: () => Promise<T>): Promise<T> {
    const r = this.tail.then(f, f);
    this.tail = r.catch(() => undefined);
    return r;
  }
}

/** The mount's view of one open file, shared by every handle on it. */
interface OpenFile {
  path: string;
  refs: number;
  /** Loaded content (capacity ≥ size) once the file is written to; reads are then served from it. */
  data: Buffer | null;
  size: number;
  dirty: boolean;
  /**
   * Sequential writing: the new version being streamed (bytes [0, streamSize) written to it).
   * Exclusive with `data`. Committed by flush/fsync/release, or before any other access to
   * the content (read, a write elsewhere, truncate, rename).
   */
  stream: FileWriter | null;
  streamSize: number;
  /** The committed version, opened once for ranged reads (reopened when the version changes). */
  reader: CachedReader | null;
  mtimeMs: number;
  /** Unlinked or replaced: never commit again. */
  gone: boolean;
  lock: Mutex;
}

interface CachedReader {
  r: FileReader;
  /** The store it reads from (a reader never outlives a detach). */
  store: SecureStore;
  /** Reads in progress; a retired reader is closed when the last one ends. */
  busy: number;
  retired: boolean;
}

interface Handle {
  file: OpenFile;
  flags: number;
  /** Wrote (or truncated) since its last flush: only such a handle's close commits. */
  wrote: boolean;
  /**
   * Acknowledged writes to the file were lost (a streamed version could not be committed):
   * reported once, as EIO, by this handle's next write, flush or fsync — like a writeback
   * error on a local filesystem — to every handle open for writing at the time.
   */
  error: Error | null;
}

interface Waiter {
  resolve(s: SecureStore): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** The errno for content access to something that is not a regular file. */
function notAFile(st: StoreStat): Error {
  return st.type === 'symlink' ? err('ELOOP', 'a symbolic link is never followed by the store') : err('EISDIR');
}

/** Whether a file has writes that are not committed yet (buffered or being streamed). */
function pending(f: OpenFile): boolean {
  return f.dirty || f.stream !== null;
}

function within(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}

async function withLocks<T>(files: OpenFile[], f: () => Promise<T>): Promise<T> {
  const [first, ...rest] = files;
  return first ? first.lock.run(() => withLocks(rest, f)) : f();
}

function sh(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, { timeout: 10_000 }, (e) => (e ? reject(e) : resolve())));
}

class SecureFsMount implements StoreMount {
  private store: SecureStore | null;
  private fuse: FuseInstance | null = null;
  private readonly files = new Map<string, OpenFile>();
  private readonly handles = new Map<number, Handle>();
  private readonly waiters = new Set<Waiter>();
  private readonly renames = new Mutex();
  private nextFd = 1;
  private inflight = 0;
  private drainWaiters: Array<() => void> = [];
  private closing = false;
  private unmounted: Promise<void> | null = null;
  private commits = 0;
  private readonly mountedAt = Date.now();
  private readonly lockedWaitMs: number;
  private readonly maxBuf: number;
  private readonly storeDir: string;

  constructor(
    store: SecureStore | null,
    readonly mountpoint: string,
    private readonly opts: MountOptions,
    storeDir?: string,
  ) {
    this.store = store;
    // Never the mountpoint itself: statfs on our own mount would wait on this very process.
    const dir = store?.dir ?? storeDir;
    if (!dir) throw new Error('a detached mount needs the store directory');
    this.storeDir = dir;
    this.lockedWaitMs = opts.lockedWaitMs ?? DEFAULT_LOCKED_WAIT_MS;
    this.maxBuf = opts.maxFileBuffer ?? DEFAULT_MAX_FILE_BUFFER;
  }

  get attached(): boolean {
    return this.store !== null;
  }

  get stats(): MountStats {
    let dirty = 0;
    let bytes = 0;
    let streaming = 0;
    for (const f of this.files.values()) {
      if (pending(f)) dirty++;
      if (f.stream) streaming++;
      bytes += f.data?.length ?? 0;
    }
    return { openFiles: this.files.size, openHandles: this.handles.size, dirtyFiles: dirty, bufferedBytes: bytes, streamingFiles: streaming, commits: this.commits };
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    const Fuse = loadFuse();
    const fuse = new Fuse(this.mountpoint, this.ops(), {
      force: true, // a stale mount (ENOTCONN, left by a crashed sessiond) is lazily unmounted first
      mkdir: false,
      allowOther: true,
      defaultPermissions: true,
      // fuse-native has no big_writes or nonempty switch; the options are joined with commas, so
      // they ride along here. big_writes: without it libfuse 2 splits writes into 4 KiB requests
      // (about 4x slower). nonempty: the plaintext home authd created from /etc/skel is covered by
      // the store (which got its own copy of skel); libfuse 2 refuses a non-empty mountpoint otherwise.
      fsname: 'securefs,big_writes,nonempty',
      subtype: 'redbear-securefs',
      timeout: false,
      debug: this.opts.debug ?? false,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`FUSE mount of ${this.mountpoint} did not come up within ${MOUNT_TIMEOUT_MS} ms`)), MOUNT_TIMEOUT_MS);
      fuse.mount((e) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      });
    })
      .then(() => cloexecFuseFds()) // also done in init; here a failure unmounts
      .catch(async (e: Error) => {
        await sh('fusermount', ['-uz', this.mountpoint]).catch(() => undefined);
        throw e;
      });
    this.fuse = fuse;
  }

  attach(store: SecureStore): void {
    if (this.closing) throw new Error('mount is closing');
    this.store = store;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(store);
    }
    this.waiters.clear();
    // Files whose last handle went away while their commit failed (e.g. keys were locked).
    void this.commitAll(store);
  }

  async detach(): Promise<void> {
    const s = this.store;
    if (!s) return;
    this.store = null;
    await this.drain();
    await this.commitAll(s);
    this.dropClean();
  }

  async flush(): Promise<void> {
    if (this.store) await this.commitAll(this.store);
  }

  unmount(): Promise<void> {
    this.unmounted ??= this.doUnmount();
    return this.unmounted;
  }

  private async doUnmount(): Promise<void> {
    this.closing = true;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(err('EIO', 'unmounting'));
    }
    this.waiters.clear();
    await this.drain();
    if (this.store) await this.commitAll(this.store);
    for (const f of this.files.values()) {
      if (f.stream) await f.stream.abort().catch(() => undefined); // its commit failed (reported)
      f.stream = null;
    }
    this.store = null;
    const fuse = this.fuse;
    this.fuse = null;
    if (fuse) {
      // fuse-native runs `fusermount -uz` (lazy: a busy mount is detached at once and goes away
      // when its last user does; requests meanwhile get EIO), then releases its thread.
      await new Promise<void>((resolve) => fuse.unmount((e) => (e ? sh('umount', ['-l', this.mountpoint]).catch(() => undefined).then(resolve) : resolve())));
    }
    for (const f of this.files.values()) {
      this.retireReader(f);
      f.data = null;
    }
    this.files.clear();
    this.handles.clear();
  }

  private drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, DRAIN_TIMEOUT_MS);
      this.drainWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private async commitAll(s: SecureStore): Promise<void> {
    // Every file's lock is taken, not only those pending now: a commit already running under
    // a lock (a flush, a stream ending) must settle before the caller closes the store.
    for (const f of [...this.files.values()]) {
      await f.lock
        .run(() => (pending(f) ? this.commit(s, f) : Promise.resolve()))
        .catch((e: Error) => this.report(e, 'commit', f.path));
      if (f.refs === 0 && !pending(f)) this.forget(f);
    }
  }

  /** Drop cached plaintext and readers of files without pending writes (on detach: nothing readable stays in memory). */
  private dropClean(): void {
    for (const f of this.files.values()) {
      this.retireReader(f);
      if (!f.dirty) f.data = null;
    }
  }

  private forget(f: OpenFile): void {
    this.retireReader(f);
    f.data = null;
    if (this.files.get(f.path) === f) this.files.delete(f.path);
  }

  /** Stop using a file's cached reader; it is closed once no read is using it. */
  private retireReader(f: OpenFile): void {
    const c = f.reader;
    if (!c) return;
    f.reader = null;
    c.retired = true;
    if (c.busy === 0) void c.r.close().catch(() => undefined);
  }

  /** The cached reader of the version of `f` committed now, opened if needed; returned with `busy` taken (see readWith). */
  private async readerFor(s: SecureStore, f: OpenFile): Promise<CachedReader> {
    const st = await s.stat(f.path);
    if (st.type !== 'file') throw notAFile(st);
    const fresh = (c: CachedReader | null): c is CachedReader => c !== null && !c.retired && c.store === s && c.r.fileId === st.fileId && c.r.version === st.version;
    const take = (c: CachedReader): CachedReader => {
      c.busy++; // before anything can retire it
      return c;
    };
    if (fresh(f.reader)) return take(f.reader);
    this.retireReader(f);
    const c: CachedReader = { r: await s.openReader(f.path), store: s, busy: 0, retired: false };
    if (fresh(f.reader)) {
      // A concurrent read opened the same version meanwhile: use that one.
      void c.r.close().catch(() => undefined);
      return take(f.reader);
    }
    this.retireReader(f);
    if (this.store !== s || this.files.get(f.path) !== f) c.retired = true; // detached or forgotten meanwhile: use once
    else f.reader = c;
    return take(c);
  }

  /** Read through a reader from readerFor (whose `busy` it releases). */
  private async readWith(c: CachedReader, pos: number, len: number, buf: Buffer): Promise<number> {
    try {
      return await c.r.read(pos, len, buf);
    } finally {
      c.busy--;
      if (c.retired && c.busy === 0) void c.r.close().catch(() => undefined);
    }
  }

  private report(e: Error, op: string, p: string): void {
    const h = this.opts.onError ?? ((x: Error, c: { op: string; path: string }) => console.error(`securefs-fuse: ${c.op} ${c.path}: ${x.message}`));
    try {
      h(e, { op, path: p });
    } catch {
      // a failing logger must not fail the request
    }
  }

  // ------------------------------------------------------------------ request plumbing

  private acquire(): Promise<SecureStore> {
    if (this.closing) return Promise.reject(err('EIO', 'unmounting'));
    if (this.store) return Promise.resolve(this.store);
    if (this.lockedWaitMs <= 0) return Promise.reject(err('EACCES', 'the home is locked'));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(err('EACCES', 'the home is locked'));
        }, this.lockedWaitMs),
      };
      this.waiters.add(w);
    });
  }

  /** Run one request against the attached store (waiting, bounded, while detached). */
  private async run<T>(op: string, p: string, f: (s: SecureStore) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const s = await this.acquire();
      this.inflight++;
      try {
        return await f(s);
      } catch (e) {
        // The store was detached and closed under this request: wait for the next one.
        if (isSecureFsError(e, 'closed') && this.store !== s && attempt < 2) continue;
        if (isIntegrityError(e)) this.report(e as Error, op, p);
        else if (toErrno(e) === E.EIO && !this.closing) this.report(e as Error, op, p);
        throw e;
      } finally {
        if (--this.inflight === 0) {
          const ws = this.drainWaiters;
          this.drainWaiters = [];
          for (const w of ws) w();
        }
      }
    }
  }

  private static reply(cb: (code: number) => void, p: Promise<number | void>): void {
    p.then(
      (n) => cb(typeof n === 'number' ? n : 0),
      (e: unknown) => cb(-toErrno(e)),
    );
  }

  private static replyValue<T>(cb: (code: number, v?: T) => void, p: Promise<T>): void {
    p.then(
      (v) => cb(0, v),
      (e: unknown) => cb(-toErrno(e)),
    );
  }

  private handle(fd: number): Handle {
    const h = this.handles.get(fd);
    if (!h) throw err('EBADF');
    return h;
  }

  private stat(type: StoreStat['type'], size: number, mtimeMs: number, mode: number): FuseStat {
    return {
      mode: type === 'symlink' ? S_IFLNK | 0o777 : (type === 'dir' ? S_IFDIR : S_IFREG) | (mode & 0o7777),
      uid: this.opts.uid,
      gid: this.opts.gid,
      size,
      nlink: type === 'dir' ? 2 : 1,
      blksize: 65536,
      blocks: Math.ceil(size / 512),
      atime: mtimeMs,
      mtime: mtimeMs,
      ctime: mtimeMs,
    };
  }

  private statOf(p: string, st: StoreStat): FuseStat {
    const of = st.type === 'file' ? this.files.get(p) : undefined;
    if (of?.stream) return this.stat('file', of.streamSize, of.mtimeMs, st.mode);
    if (of?.data) return this.stat('file', of.size, of.dirty ? of.mtimeMs : st.mtimeMs, st.mode);
    return this.stat(st.type, st.size, p === '/' ? Math.max(st.mtimeMs, this.mountedAt) : st.mtimeMs, st.mode);
  }

  // ------------------------------------------------------------------ file content

  /** Load a file's content for writing (at most `limit` bytes of it). Call under the file's lock. */
  private async load(s: SecureStore, f: OpenFile, limit = Infinity): Promise<void> {
    if (f.data) return;
    if (f.gone) {
      // Replaced or removed while open: the path now names another file (or none).
      f.data = Buffer.alloc(MIN_CAPACITY);
      f.size = 0;
      return;
    }
    const st = await s.stat(f.path);
    if (st.type !== 'file') throw notAFile(st);
    const n = Math.min(st.size, limit);
    if (n > this.maxBuf) throw err('EFBIG', `${f.path}: ${st.size} bytes is more than the ${this.maxBuf}-byte write buffer`);
    const content = n === 0 ? Buffer.alloc(0) : n === st.size ? await s.readFile(f.path) : await s.read(f.path, 0, n);
    const buf = Buffer.alloc(Math.max(MIN_CAPACITY, content.length));
    content.copy(buf);
    content.fill(0);
    this.retireReader(f); // reads are served from memory from now on
    f.data = buf;
    f.size = content.length;
    f.mtimeMs = st.mtimeMs;
  }

  private reserve(f: OpenFile, need: number): void {
    if (need > this.maxBuf) throw err('EFBIG', `${f.path}: the write buffer is limited to ${this.maxBuf} bytes`);
    const data = f.data!;
    if (data.length >= need) return;
    const cap = Math.min(this.maxBuf, Math.max(need, data.length * 2));
    const nb = Buffer.alloc(cap);
    data.copy(nb, 0, 0, f.size);
    data.fill(0);
    f.data = nb;
  }

  private resize(f: OpenFile, size: number): void {
    this.reserve(f, size);
    if (size < f.size) f.data!.fill(0, size, f.size);
    f.size = size;
    f.dirty = true;
    f.mtimeMs = Date.now();
  }

  /** Commit a file's pending content (streamed or buffered) as a new version. Call under the file's lock. */
  private async commit(s: SecureStore, f: OpenFile): Promise<void> {
    if (f.stream) {
      await this.endStream(f);
    } else if (!f.dirty || !f.data || f.gone) {
      f.dirty = false;
    } else {
      await s.writeFile(f.path, f.data.subarray(0, f.size));
      f.dirty = false;
      this.commits++;
      this.retireReader(f); // its version is not current any more: do not keep it on disk
    }
  }

  /** Acknowledged writes to `f` were lost: every handle open for writing gets `e` once. */
  private failWriters(f: OpenFile, e: Error): void {
    for (const h of this.handles.values()) if (h.file === f && (h.flags & 3) !== 0) h.error = e;
  }

  /** The handle's pending lost-write error, cleared as it is reported. */
  private static takeError(h: Handle): Error | null {
    const e = h.error;
    h.error = null;
    return e;
  }

  // ------------------------------------------------------------------ sequential writes

  /** Commit the version being streamed (dropped instead when the file is gone). Call under the file's lock. */
  private async endStream(f: OpenFile): Promise<void> {
    const w = f.stream;
    if (!w) return;
    // `f.stream` stays set until the commit settles: getattr keeps reporting the streamed size,
    // and reads, flushes and fsyncs on other handles wait for the file's lock (held by our
    // caller) instead of seeing the old version, or nothing pending, meanwhile.
    try {
      if (f.gone) {
        await w.abort();
        return;
      }
      await w.commit();
      this.commits++;
      this.retireReader(f);
    } catch (e) {
      await w.abort().catch(() => undefined);
      if (w.bytesWritten > 0) this.failWriters(f, err('EIO', `${f.path}: the written data could not be committed (${(e as Error).message})`));
      throw e;
    } finally {
      f.stream = null;
    }
  }

  /** Append `chunk` to the version being streamed. Call under the file's lock. */
  private async streamWrite(f: OpenFile, chunk: Buffer): Promise<number> {
    const w = f.stream!;
    try {
      await w.write(chunk); // awaited: the buffer is fuse-native's, valid only until we answer
    } catch (e) {
      f.stream = null;
      await w.abort().catch(() => undefined);
      if (w.bytesWritten > 0) this.failWriters(f, err('EIO', `${f.path}: the written data was lost (${(e as Error).message})`));
      throw e;
    }
    f.streamSize += chunk.length;
    f.mtimeMs = Date.now();
    return chunk.length;
  }

  /**
   * Start streaming a new version of `f`, beginning with its first `keep` bytes: the buffered
   * content when loaded, else the committed content read back from the store. Call under the
   * file's lock.
   */
  private async startStream(s: SecureStore, f: OpenFile, keep: number): Promise<void> {
    const w = await s.openWriter(f.path);
    try {
      if (keep > 0 && f.data) {
        await w.write(f.data.subarray(0, keep));
      } else if (keep > 0) {
        for await (const b of s.createReadStream(f.path, { end: keep - 1 }) as AsyncIterable<Buffer>) {
          // A copy can take long: stop when the home is being locked, so that the lock waits for
          // real commits only; the request is retried on the reattached store (run()).
          if (this.store !== s) throw new SecureFsError('closed', 'the home is being locked');
          await w.write(b);
          b.fill(0);
        }
        if (w.bytesWritten !== keep) throw err('EIO', `${f.path}: changed while being copied`);
      }
    } catch (e) {
      await w.abort().catch(() => undefined);
      throw e;
    }
    if (f.data) f.data.fill(0);
    f.data = null;
    f.dirty = false;
    this.retireReader(f);
    f.stream = w;
    f.streamSize = keep;
  }

  /**
   * Whether a write of `len` bytes at `pos` is sequential and should be streamed rather than
   * buffered: the file is empty and the write starts at 0 (a new or truncated file: `cp`, a
   * download), or it appends at the end of content that would not fit the write buffer. Call
   * under the file's lock; starts the stream when it says yes.
   */
  private async streamIfSequential(s: SecureStore, f: OpenFile, pos: number, len: number): Promise<boolean> {
    if (f.data) {
      if (f.size === 0 && pos === 0) {
        await this.startStream(s, f, 0); // truncated in memory: the stream replaces the content
        return true;
      }
      if (pos === f.size && pos + len > this.maxBuf) {
        await this.startStream(s, f, f.size); // grew past the buffer by appending: spill, go on streaming
        return true;
      }
      return false;
    }
    const st = await s.stat(f.path);
    if (st.type !== 'file') throw notAFile(st);
    if (pos !== st.size) return false;
    if (st.size === 0 || st.size + len > this.maxBuf) {
      await this.startStream(s, f, st.size);
      return true;
    }
    return false;
  }

  private openFile(p: string): OpenFile {
    let f = this.files.get(p);
    if (!f) {
      f = { path: p, refs: 0, data: null, size: 0, dirty: false, stream: null, streamSize: 0, reader: null, mtimeMs: 0, gone: false, lock: new Mutex() };
      this.files.set(p, f);
    }
    return f;
  }

  private newHandle(f: OpenFile, flags: number): number {
    f.refs++;
    let fd = this.nextFd;
    while (this.handles.has(fd) || fd === 0) fd = (fd + 1) % 0x7fffffff;
    this.nextFd = (fd + 1) % 0x7fffffff;
    this.handles.set(fd, { file: f, flags, wrote: false, error: null });
    return fd;
  }

  // ------------------------------------------------------------------ FUSE operations

  private ops(): Partial<FuseOps> {
    const R = SecureFsMount.reply;
    const V = SecureFsMount.replyValue;
    return {
      init: (cb) => {
        // The earliest point after fuse_mount(): nothing spawned from here on inherits /dev/fuse.
        try {
          cloexecFuseFds();
        } catch {
          // start() retries and fails the mount
        }
        cb(0);
      },

      getattr: (p, cb) => V(cb, this.run('getattr', p, async (s) => this.statOf(p, await s.stat(p)))),

      readdir: (p, cb) => {
        this.run('readdir', p, async (s) => {
          const list = await s.list(p);
          const dir = this.statOf(p, await s.stat(p));
          const names = ['.', '..', ...list.map((e) => e.name)];
          const stats = [dir, dir, ...list.map((e) => this.statOf(p === '/' ? `/${e.name}` : `${p}/${e.name}`, e))];
          return { names, stats };
        }).then(
          (r) => cb(0, r.names, r.stats),
          (e: unknown) => cb(-toErrno(e)),
        );
      },

      open: (p, flags, cb) =>
        V(
          cb,
          this.run('open', p, async (s) => {
            if (!this.files.has(p)) {
              // The kernel resolves symlinks before open; a link path here is refused, never followed.
              const st = await s.stat(p);
              if (st.type !== 'file') throw notAFile(st);
            }
            return this.newHandle(this.openFile(p), flags);
          }),
        ),

      create: (p, mode, cb) =>
        V(
          cb,
          this.run('create', p, async (s) => {
            await s.writeFile(p, Buffer.alloc(0), { mode: mode & 0o7777 });
            const f = this.openFile(p);
            if (f.stream) await f.stream.abort().catch(() => undefined); // replaced by the new empty file
            f.stream = null;
            f.data = null; // the first write at 0 streams (see streamIfSequential)
            f.size = 0;
            f.dirty = false;
            f.gone = false;
            f.mtimeMs = Date.now();
            return this.newHandle(f, 2); // O_RDWR
          }),
        ),

      read: (p, fd, buf, len, pos, cb) =>
        R(
          cb,
          this.run('read', p, async (s) => {
            const f = this.handle(fd).file;
            if (f.stream) await f.lock.run(() => this.endStream(f)); // read what was written
            if (f.data) {
              const end = Math.min(f.size, pos + len);
              return end > pos ? f.data.copy(buf, 0, pos, end) : 0;
            }
            return this.readWith(await this.readerFor(s, f), pos, len, buf);
          }),
        ),

      write: (p, fd, buf, len, pos, cb) =>
        R(
          cb,
          this.run('write', p, async (s) => {
            const h = this.handle(fd);
            const f = h.file;
            return f.lock.run(async () => {
              const lost = SecureFsMount.takeError(h);
              if (lost) throw lost;
              h.wrote = true;
              const chunk = buf.subarray(0, len);
              if (f.stream) {
                if (pos === f.streamSize) return this.streamWrite(f, chunk);
                await this.endStream(f); // not sequential after all: commit, then edit in memory
              }
              // A file replaced or removed while open is never streamed: load() gives it a private
              // buffer that is never committed (nothing may land on whatever has the path now).
              if (!f.gone && (await this.streamIfSequential(s, f, pos, len))) return this.streamWrite(f, chunk);
              await this.load(s, f);
              const end = pos + len;
              this.reserve(f, end);
              buf.copy(f.data!, pos, 0, len);
              if (end > f.size) f.size = end;
              f.dirty = true;
              f.mtimeMs = Date.now();
              return len;
            });
          }),
        ),

      // Every close(2) of a descriptor sends a flush, also of descriptors inherited by children
      // that never wrote (`make > log`): only a handle that wrote since its last flush commits.
      flush: (p, fd, cb) => {
        const h = this.handles.get(fd);
        if (h && SecureFsMount.takeError(h)) return cb(-E.EIO);
        if (!h || !h.wrote) return cb(0);
        R(
          cb,
          this.run('flush', p, (s) =>
            h.file.lock.run(async () => {
              await this.commit(s, h.file);
              h.wrote = false;
            }),
          ),
        );
      },

      fsync: (p, _datasync, fd, cb) => {
        const h = this.handles.get(fd);
        if (h && SecureFsMount.takeError(h)) return cb(-E.EIO);
        if (!h || !pending(h.file)) return cb(0);
        R(cb, this.run('fsync', p, (s) => h.file.lock.run(() => this.commit(s, h.file))));
      },

      release: (p, fd, cb) => {
        const h = this.handles.get(fd);
        if (!h) return cb(0);
        this.handles.delete(fd);
        const f = h.file;
        const done = pending(f) && (h.wrote || f.refs === 1) ? this.run('release', p, (s) => f.lock.run(() => this.commit(s, f))) : Promise.resolve();
        done
          .catch((e: Error) => this.report(e, 'release (buffered writes stay until the next attach; a streamed version is lost)', f.path))
          .finally(() => {
            f.refs--;
            if (f.refs === 0 && !pending(f)) this.forget(f);
            cb(0);
          });
      },

      truncate: (p, size, cb) =>
        R(
          cb,
          this.run('truncate', p, async (s) => {
            if (size > this.maxBuf) throw err('EFBIG');
            const f = this.openFile(p);
            try {
              await f.lock.run(async () => {
                await this.endStream(f);
                await this.load(s, f, size);
                this.resize(f, size);
                await this.commit(s, f);
              });
            } finally {
              if (f.refs === 0 && !pending(f)) this.forget(f);
            }
          }),
        ),

      ftruncate: (p, fd, size, cb) =>
        R(
          cb,
          this.run('ftruncate', p, async (s) => {
            const h = this.handle(fd);
            const f = h.file;
            await f.lock.run(async () => {
              const lost = SecureFsMount.takeError(h);
              if (lost) throw lost;
              if (f.stream && size === f.streamSize) return; // nothing to change
              h.wrote = true;
              await this.endStream(f);
              await this.load(s, f, size);
              this.resize(f, size);
            });
          }),
        ),

      unlink: (p, cb) =>
        R(
          cb,
          this.run('unlink', p, async (s) => {
            const f = this.files.get(p);
            const go = async () => {
              await s.unlink(p);
              if (f) {
                f.gone = true;
                f.dirty = false;
                if (f.stream) await f.stream.abort().catch(() => undefined);
                f.stream = null;
                this.forget(f);
              }
            };
            await (f ? f.lock.run(go) : go());
          }),
        ),

      rename: (src, dest, cb) =>
        R(
          cb,
          this.run('rename', src, (s) =>
            this.renames.run(async () => {
              const affected = [...this.files.values()].filter((f) => within(f.path, src) || within(f.path, dest)).sort((a, b) => (a.path < b.path ? -1 : 1));
              await withLocks(affected, async () => {
                // A version being streamed is bound to its path: commit it before the path changes.
                for (const f of affected) await this.endStream(f);
                await s.rename(src, dest);
                for (const f of affected) {
                  if (this.files.get(f.path) === f) this.files.delete(f.path);
                  if (within(f.path, src)) f.path = dest + f.path.slice(src.length);
                  else f.gone = true; // replaced by the rename
                }
                for (const f of affected) if (!f.gone) this.files.set(f.path, f);
              });
            }),
          ),
        ),

      // symlink(2): `target` is the link text, `p` the new link. Index only; nothing is resolved.
      symlink: (target, p, cb) => R(cb, this.run('symlink', p, (s) => s.symlink(target, p))),

      readlink: (p, cb) => V(cb, this.run('readlink', p, (s) => s.readlink(p))),

      mkdir: (p, mode, cb) => R(cb, this.run('mkdir', p, (s) => s.mkdir(p, { mode: mode & 0o7777 }))),

      rmdir: (p, cb) => R(cb, this.run('rmdir', p, (s) => s.rmdir(p))),

      chmod: (p, mode, cb) =>
        R(
          cb,
          this.run('chmod', p, async (s) => {
            if (p === '/') throw err('EPERM', 'the root of the home keeps mode 0700');
            // chmod(2) follows links in the kernel; only fchmodat(AT_SYMLINK_NOFOLLOW) could get here.
            if ((await s.stat(p)).type === 'symlink') throw err('EOPNOTSUPP', 'a symlink keeps mode 0777');
            await s.setAttributes(p, { mode: mode & 0o7777 });
          }),
        ),

      chown: (p, uid, gid, cb) => {
        const ok = (uid === NO_ID || uid === this.opts.uid) && (gid === NO_ID || gid === this.opts.gid);
        cb(ok ? 0 : -E.EPERM);
      },

      utimens: (p, _atime, mtime, cb) =>
        R(
          cb,
          this.run('utimens', p, async (s) => {
            if (p === '/') return;
            const mt = mtime === UTIME_SPECIAL_MS ? Date.now() : mtime;
            const f = this.files.get(p);
            const go = async () => {
              if (f) await this.commit(s, f); // the commit would set mtime = now afterwards
              await s.setAttributes(p, { mtimeMs: mt });
              if (f) f.mtimeMs = mt;
            };
            await (f ? f.lock.run(go) : go());
          }),
        ),

      statfs: (_p, cb) => V(cb, this.statfs()),
    };
  }

  private async statfs(): Promise<FuseStatfs> {
    const st = await fs.statfs(this.storeDir);
    let bsize = st.bsize;
    let blocks = st.blocks;
    let bfree = st.bfree;
    let bavail = st.bavail;
    while (blocks > 0xffffffff) {
      bsize *= 2;
      blocks = Math.floor(blocks / 2);
      bfree = Math.floor(bfree / 2);
      bavail = Math.floor(bavail / 2);
    }
    const clamp = (n: number) => Math.min(n, 0xffffffff);
    return { bsize, frsize: bsize, blocks, bfree, bavail, files: clamp(st.files), ffree: clamp(st.ffree), favail: clamp(st.ffree), fsid: 0, flag: 0, namemax: 255 };
  }
}

/**
 * Mount an open store at `mountpoint` (an existing directory) with FUSE: allow_other +
 * default_permissions, everything owned by `uid:gid`. Must run as root. Never touch the mount
 * synchronously from this process: FUSE requests are answered on this event loop.
 */
export async function mountStore(store: SecureStore, mountpoint: string, opts: MountOptions): Promise<StoreMount> {
  const m = new SecureFsMount(store, path.resolve(mountpoint), opts);
  await m.start();
  return m;
}

/**
 * Mount with no store attached yet: every request waits up to `lockedWaitMs` for `attach`,
 * then fails with EACCES — what a locked session's home looks like. `storeDir` (the store's
 * directory, not opened) answers statfs.
 */
export async function mountDetached(storeDir: string, mountpoint: string, opts: MountOptions): Promise<StoreMount> {
  const m = new SecureFsMount(null, path.resolve(mountpoint), opts, storeDir);
  await m.start();
  return m;
}

/** Lazily unmount whatever is mounted at `mountpoint` (a stale mount left by a dead process). */
export async function forceUnmount(mountpoint: string): Promise<void> {
  await sh('fusermount', ['-uz', mountpoint]).catch(() => sh('umount', ['-l', mountpoint]));
}

/** The filesystem type `/proc/self/mountinfo` lists for the top mount at `mountpoint`, or null. */
export async function mountType(mountpoint: string): Promise<string | null> {
  const want = path.resolve(mountpoint);
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  let type: string | null = null;
  for (const l of text.split('\n')) {
    const f = l.split(' ');
    if (f[4] === undefined || unescape(f[4]) !== want) continue;
    const sep = f.indexOf('-');
    type = sep >= 0 ? (f[sep + 1] ?? '') : ''; // later lines are mounted on top
  }
  return type;
}

/** Whether `/proc/self/mountinfo` lists a mount at `mountpoint`. */
export async function isMounted(mountpoint: string): Promise<boolean> {
  return (await mountType(mountpoint)) !== null;
}

/** The fstype of a home mounted by this module. */
export const FUSE_TYPE = 'fuse.redbear-securefs';
