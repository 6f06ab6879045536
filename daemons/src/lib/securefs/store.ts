import { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import type { CryptoStats } from './content-object.js';
import { TAG_LEN } from './xchacha.js';
import { SecureFsError } from './errors.js';
import { CHUNK_SIZE } from './header.js';
import { SYMLINK_MODE, symlinkTargetProblem, type Entry, type FileEntry } from './index-file.js';
import type { KeyProvider } from './key-provider.js';
import { openObject, type OpenedObject } from './object-open.js';
import { normalizePath, parentOf, baseName, isWithin } from './paths.js';
import type { PersistenceInfo } from './persistence.js';
import { RangeReader } from './range-reader.js';
import { StoreCore, type EntryView } from './store-core.js';
import { checkPersistence, initStore, loadIndex, type CreateStoreOptions } from './store-open.js';
import { checkFileTarget, touchParent, WriteSession, type WriteOptions } from './write-session.js';

export type { CreateStoreOptions } from './store-open.js';
export type { WriteOptions } from './write-session.js';

export interface OpenStoreOptions {
  requirePersistent?: boolean;
}

export interface StoreStat {
  /** What the entry itself is (lstat semantics: a symlink is never followed). */
  type: 'file' | 'dir' | 'symlink';
  /** Files: plaintext bytes. Symlinks: bytes of the target. Directories: 0. */
  size: number;
  mtimeMs: number;
  /** Permission bits; always 0o777 for a symlink. */
  mode: number;
  /** Files only: file_id (hex), version counter, key generation. */
  fileId?: string;
  version?: number;
  keyGen?: number;
  /** Symlinks only: the link text. */
  target?: string;
}

export interface ListEntry extends StoreStat {
  name: string;
}

/** See SecureStore.openReader. */
export interface FileReader {
  readonly path: string;
  /** Plaintext size of the version read. */
  readonly size: number;
  readonly fileId: string;
  readonly version: number;
  /** Decrypt [pos, pos + length) (clamped to the file and to `into`) into `into`; returns the byte count. */
  read(pos: number, length: number, into: Buffer): Promise<number>;
  close(): Promise<void>;
}

/** See SecureStore.openWriter. */
export interface FileWriter {
  readonly path: string;
  readonly bytesWritten: number;
  write(data: Buffer): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface ReadStreamOptions {
  start?: number;
  /** Inclusive, like fs.createReadStream. */
  end?: number;
}

function toStat(e: Entry): StoreStat {
  switch (e.type) {
    case 'file':
      return { type: 'file', size: e.size, mtimeMs: e.mtimeMs, mode: e.mode, fileId: e.fileId, version: e.version, keyGen: e.keyGen };
    case 'dir':
      return { type: 'dir', size: 0, mtimeMs: e.mtimeMs, mode: e.mode };
    case 'symlink':
      return { type: 'symlink', size: Buffer.byteLength(e.target), mtimeMs: e.mtimeMs, mode: e.mode, target: e.target };
  }
}

/** An open SecureFS store. Single process, single opener (no cross-process locking). */
export class SecureStore {
  private constructor(
    private readonly core: StoreCore,
    /** Whether the backing filesystem survives a reboot (never true on tmpfs/ramfs). */
    readonly persistence: PersistenceInfo,
    /** Whether whole-store rollback is detected (the key provider keeps checkpoints). */
    readonly rollbackProtected: boolean,
  ) {}

  static async create(dir: string, keys: KeyProvider, opts: CreateStoreOptions = {}): Promise<SecureStore> {
    await checkPersistence(dir, opts.requirePersistent);
    await initStore(dir, keys, opts);
    return SecureStore.open(dir, keys, opts);
  }

  static async open(dir: string, keys: KeyProvider, opts: OpenStoreOptions = {}): Promise<SecureStore> {
    const persistence = await checkPersistence(dir, opts.requirePersistent);
    const idx = await loadIndex(dir, keys, { advanceCheckpoint: true });
    const core = new StoreCore(dir, keys, idx.kIndex, idx.state, idx.keyGen);
    await core.collectGarbage();
    return new SecureStore(core, persistence, idx.rollbackProtected);
  }

  get dir(): string {
    return this.core.dir;
  }
  /** Crypto counters (chunks encrypted/decrypted since open). */
  get stats(): Readonly<CryptoStats> {
    return this.core.stats;
  }
  get epoch(): number {
    return this.core.state.epoch;
  }

  /** The entry at `path` in `view` (default: the committed index), or `not_found`. */
  private get(path: string, view: EntryView = this.core): Entry {
    this.core.live();
    const e = view.lookup(path);
    if (!e) throw new SecureFsError('not_found', `${path} does not exist`, { path });
    return e;
  }

  private file(path: string): FileEntry {
    const e = this.get(path);
    if (e.type === 'symlink') throw new SecureFsError('is_symlink', `${path} is a symbolic link`, { path });
    if (e.type !== 'file') throw new SecureFsError('is_dir', `${path} is a directory`, { path });
    return e;
  }

  private dirEntry(path: string, view: EntryView = this.core): void {
    if (this.get(path, view).type !== 'dir') throw new SecureFsError('not_dir', `${path} is not a directory`, { path });
  }

  /** Like lstat(2): a symlink is reported as type 'symlink' (the store never follows links). */
  async stat(path: string): Promise<StoreStat> {
    return toStat(this.get(normalizePath(path)));
  }

  /** Whether anything (file, directory or symlink, dangling or not) exists at `path`. */
  async exists(path: string): Promise<boolean> {
    this.core.live();
    return this.core.lookup(normalizePath(path)) !== undefined;
  }

  async readdir(path = '/'): Promise<string[]> {
    const p = normalizePath(path);
    this.dirEntry(p);
    return this.core.children(p).map(baseName);
  }

  async list(path = '/'): Promise<ListEntry[]> {
    const p = normalizePath(path);
    this.dirEntry(p);
    return this.core.children(p).map((c) => ({ name: baseName(c), ...toStat(this.core.lookup(c)!) }));
  }

  private async openFile(p: string, e: FileEntry): Promise<OpenedObject> {
    const rel = StoreCore.objectOf(e);
    return openObject(
      join(this.core.dir, rel),
      this.core.fileKey,
      this.core.stats,
      { fileId: Buffer.from(e.fileId, 'hex'), headerTag: Buffer.from(e.headerTag, 'hex'), size: e.size, keyGen: e.keyGen },
      { path: p, object: rel },
    );
  }

  /** Whole file, authenticated chunk by chunk (reads pipelined with decryption). */
  async readFile(path: string): Promise<Buffer> {
    const p = normalizePath(path);
    const e = this.file(p);
    const unpin = this.core.pin(StoreCore.objectOf(e));
    try {
      const obj = await this.openFile(p, e);
      try {
        const out = Buffer.allocUnsafe(e.size);
        const r = obj.reader;
        let off = 0;
        try {
          for await (const { raw, first, last } of r.rawBatches(0, r.chunks - 1)) off += r.decryptInto(raw, first, last, out, off);
        } catch (e) {
          out.fill(0, 0, off);
          throw e;
        }
        return out;
      } finally {
        await obj.close();
      }
    } finally {
      unpin();
    }
  }

  /** Random access: bytes [start, start+length) decrypting only the chunks covering them. */
  async read(path: string, start: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const r = await this.openReader(path);
    try {
      const from = Math.max(0, start);
      const out = Buffer.alloc(Math.max(0, Math.min(r.size, start + length) - from));
      return out.subarray(0, await r.read(from, out.length, out));
    } finally {
      await r.close();
    }
  }

  /**
   * Stream [start, end] (inclusive). The version current at the call is read (its object is pinned
   * against GC until the stream ends); only the chunks covering the range are decrypted.
   */
  createReadStream(path: string, opts: ReadStreamOptions = {}): Readable {
    const p = normalizePath(path);
    const e = this.file(p);
    const start = Math.max(0, opts.start ?? 0);
    const end = Math.min(e.size - 1, opts.end ?? e.size - 1);
    const unpin = this.core.pin(StoreCore.objectOf(e));
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the generator below outlives this frame
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      try {
        if (end < start) return;
        const obj = await self.openFile(p, e);
        try {
          const firstChunk = Math.floor(start / CHUNK_SIZE);
          const lastChunk = Math.floor(end / CHUNK_SIZE);
          const r = obj.reader;
          for await (const { raw, first, last } of r.rawBatches(firstChunk, lastChunk)) {
            // One fresh buffer per batch (the consumer may keep what it was given), filled only
            // with authenticated plaintext.
            const pt = Buffer.allocUnsafe(raw.length - (last - first + 1) * TAG_LEN);
            r.decryptInto(raw, first, last, pt, 0);
            const base = first * CHUNK_SIZE;
            yield pt.subarray(Math.max(0, start - base), Math.min(pt.length, end - base + 1));
          }
        } finally {
          await obj.close();
        }
      } finally {
        unpin();
      }
    }
    const r = Readable.from(gen(), { objectMode: false });
    r.once('close', unpin);
    return r;
  }

  async writeFile(path: string, data: Buffer | Uint8Array | string, opts: WriteOptions = {}): Promise<void> {
    const p = normalizePath(path);
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const s = await WriteSession.begin(this.core, p, opts, buf.length);
    try {
      await s.write(buf);
    } catch (e) {
      await s.abort();
      throw e;
    }
    await s.commit();
  }

  /** A Writable that commits a new version when it finishes (nothing is visible before). */
  /**
   * A reader of the version of `path` current now, for many ranged reads without re-opening the
   * object (its header is authenticated once). The object is pinned against GC until `close()`:
   * later commits to `path` are not seen through this reader. Reads may run concurrently.
   */
  async openReader(path: string): Promise<FileReader> {
    const p = normalizePath(path);
    const e = this.file(p);
    const unpin = this.core.pin(StoreCore.objectOf(e));
    let obj: OpenedObject;
    try {
      obj = await this.openFile(p, e);
    } catch (err) {
      unpin();
      throw err;
    }
    const core = this.core;
    const readers = this.readers;
    const ranges = new RangeReader(obj.reader, e.size, core.readBuffers);
    let closed = false;
    // Reads in flight: the object (and its key) is destroyed only once none is left, so a
    // close never makes a running read decrypt with a wiped key (a false tamper alarm).
    let inflight = 0;
    let idle: (() => void) | null = null;
    let closing: Promise<void> | null = null;
    const reader: FileReader = {
      path: p,
      size: e.size,
      fileId: e.fileId,
      version: e.version,
      async read(pos: number, length: number, into: Buffer): Promise<number> {
        if (closed) throw new SecureFsError('closed', 'reader is closed', { path: p });
        core.live();
        inflight++;
        try {
          return await ranges.read(pos, length, into);
        } finally {
          if (--inflight === 0 && idle) idle();
        }
      },
      close(): Promise<void> {
        closing ??= (async () => {
          closed = true;
          readers.delete(reader);
          if (inflight > 0) await new Promise<void>((r) => (idle = r));
          await ranges.settle(); // read-ahead still in flight
          try {
            await obj.close();
          } finally {
            unpin();
          }
        })();
        return closing;
      },
    };
    readers.add(reader);
    return reader;
  }

  /** Readers not closed yet: close() closes them (their keys are zeroed with the store's). */
  private readonly readers = new Set<FileReader>();

  /**
   * A writer for one new version of `path`, streamed: memory use stays bounded whatever the
   * size. Nothing is visible until `commit()` (the version then replaces the file atomically);
   * `abort()` drops it. Each `write` must be awaited before its buffer is reused or the next
   * write starts.
   */
  async openWriter(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const p = normalizePath(path);
    this.core.live();
    checkFileTarget(this.core, p);
    const session = await WriteSession.begin(this.core, p, opts);
    let written = 0;
    return {
      path: p,
      get bytesWritten() {
        return written;
      },
      async write(data: Buffer) {
        await session.write(data);
        written += data.length;
      },
      async commit() {
        await session.commit();
      },
      abort: () => session.abort(),
    };
  }

  createWriteStream(path: string, opts: WriteOptions = {}): Writable {
    const p = normalizePath(path);
    this.core.live();
    checkFileTarget(this.core, p); // fail early on obvious errors
    let session: WriteSession | null = null;
    const core = this.core;
    return new Writable({
      construct(cb) {
        WriteSession.begin(core, p, opts).then((s) => ((session = s), cb()), cb);
      },
      write(chunk: Buffer, _enc, cb) {
        session!.write(chunk).then(() => cb(), cb);
      },
      final(cb) {
        session!.commit().then(() => cb(), cb);
      },
      destroy(err, cb) {
        if (session && err) session.abort().then(() => cb(err), () => cb(err));
        else cb(err);
      },
    });
  }

  async mkdir(path: string, opts: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    const p = normalizePath(path);
    await this.core.mutate((entries) => {
      const e = entries.lookup(p);
      if (e) {
        if (opts.recursive && e.type === 'dir') return;
        throw new SecureFsError('exists', `${p} already exists`, { path: p });
      }
      const missing: string[] = [];
      for (let cur = p; cur !== '/'; cur = parentOf(cur)) {
        const ce = entries.lookup(cur);
        if (ce?.type === 'dir') break;
        if (ce) throw new SecureFsError('not_dir', `${cur} is not a directory`, { path: p });
        missing.push(cur);
        if (!opts.recursive) break;
      }
      const top = missing[missing.length - 1]!;
      const tp = parentOf(top);
      if (entries.lookup(tp)?.type !== 'dir') {
        if (entries.lookup(tp)) throw new SecureFsError('not_dir', `${tp} is not a directory`, { path: p });
        throw new SecureFsError('not_found', `parent directory ${tp} does not exist`, { path: p });
      }
      const now = Date.now();
      for (const m of missing) entries.set(m, { type: 'dir', mtimeMs: now, mode: opts.mode ?? 0o700 });
      touchParent(entries, top, now);
    });
  }

  async rmdir(path: string): Promise<void> {
    const p = normalizePath(path);
    if (p === '/') throw new SecureFsError('invalid_argument', 'cannot remove the root directory');
    await this.core.mutate((entries) => {
      this.dirEntry(p, entries);
      if (entries.children(p).length > 0) throw new SecureFsError('not_empty', `${p} is not empty`, { path: p });
      entries.delete(p);
      touchParent(entries, p, Date.now());
    });
  }

  /** Remove a file or a symlink (the link itself, never its target). */
  async unlink(path: string): Promise<void> {
    const p = normalizePath(path);
    await this.core.mutate((entries) => {
      const e = this.get(p, entries);
      if (e.type === 'dir') throw new SecureFsError('is_dir', `${p} is a directory`, { path: p });
      entries.delete(p);
      touchParent(entries, p, Date.now());
      if (e.type === 'file') entries.release(StoreCore.objectOf(e));
    });
  }

  /**
   * Create a symlink at `path` holding `target` (like symlink(2): any non-empty text of at most
   * 4095 bytes without NUL; it may be relative, absolute or dangling). Index only. `exists` when
   * anything is at `path` already.
   */
  async symlink(target: string, path: string): Promise<void> {
    const p = normalizePath(path);
    const problem = symlinkTargetProblem(target);
    if (problem) throw new SecureFsError('invalid_argument', problem, { path: p });
    if (p === '/') throw new SecureFsError('exists', 'the root directory exists', { path: p });
    await this.core.mutate((entries) => {
      if (entries.lookup(p)) throw new SecureFsError('exists', `${p} already exists`, { path: p });
      const parent = parentOf(p);
      const pe = entries.lookup(parent);
      if (!pe) throw new SecureFsError('not_found', `parent directory ${parent} does not exist`, { path: p });
      if (pe.type !== 'dir') throw new SecureFsError('not_dir', `${parent} is not a directory`, { path: p });
      const now = Date.now();
      entries.set(p, { type: 'symlink', target, mtimeMs: now, mode: SYMLINK_MODE });
      touchParent(entries, p, now);
    });
  }

  /** The target of the symlink at `path` (`invalid_argument` when it is not a symlink, like readlink(2)). */
  async readlink(path: string): Promise<string> {
    const p = normalizePath(path);
    const e = this.get(p);
    if (e.type !== 'symlink') throw new SecureFsError('invalid_argument', `${p} is not a symbolic link`, { path: p });
    return e.target;
  }

  /** Index-only rename (no re-encryption: the path is not in any AAD). POSIX replacement rules. */
  async rename(from: string, to: string): Promise<void> {
    const a = normalizePath(from);
    const b = normalizePath(to);
    if (a === '/' || b === '/') throw new SecureFsError('invalid_argument', 'cannot rename the root directory');
    await this.core.mutate((entries) => {
      const src = this.get(a, entries);
      if (a === b) return;
      const bp = parentOf(b);
      const bpe = entries.lookup(bp);
      if (!bpe) throw new SecureFsError('not_found', `parent directory ${bp} does not exist`, { path: b });
      if (bpe.type !== 'dir') throw new SecureFsError('not_dir', `${bp} is not a directory`, { path: b });
      if (src.type === 'dir' && isWithin(b, a)) throw new SecureFsError('invalid_argument', `cannot move ${a} into itself`, { path: b });
      const dst = entries.lookup(b);
      if (dst) {
        // A symlink moves (and is replaced) like a file; neither side is followed.
        if (src.type !== 'dir' && dst.type === 'dir') throw new SecureFsError('is_dir', `${b} is a directory`, { path: b });
        if (src.type === 'dir' && dst.type !== 'dir') throw new SecureFsError('not_dir', `${b} is not a directory`, { path: b });
        if (dst.type === 'dir' && entries.children(b).length > 0) throw new SecureFsError('not_empty', `${b} is not empty`, { path: b });
        if (dst.type === 'file') entries.release(StoreCore.objectOf(dst));
      }
      entries.delete(b);
      const moving = [...entries.entries].filter(([k]) => isWithin(k, a));
      for (const [k] of moving) entries.delete(k);
      for (const [k, v] of moving) entries.set(b + k.slice(a.length), v);
      const now = Date.now();
      touchParent(entries, a, now);
      touchParent(entries, b, now);
    });
  }

  /**
   * Index-only attribute change (chmod / utimens): mode bits and/or mtime of a file or directory,
   * or the mtime of a symlink (a symlink's mode stays 0o777: a mode change is `invalid_argument`).
   * No content is rewritten. The root directory has no entry and cannot be changed (`invalid_argument`).
   */
  async setAttributes(path: string, attrs: { mode?: number; mtimeMs?: number }): Promise<void> {
    const p = normalizePath(path);
    if (p === '/') throw new SecureFsError('invalid_argument', 'the root directory has no attributes to change');
    const { mode, mtimeMs } = attrs;
    if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)) throw new SecureFsError('invalid_argument', 'mode must be 0..0o7777', { path: p });
    if (mtimeMs !== undefined && !Number.isFinite(mtimeMs)) throw new SecureFsError('invalid_argument', 'mtime must be a finite number', { path: p });
    await this.core.mutate((entries) => {
      const e = this.get(p, entries);
      if (e.type === 'symlink') {
        if (mode !== undefined) throw new SecureFsError('invalid_argument', `${p} is a symbolic link: its mode cannot change`, { path: p });
        entries.set(p, { ...e, mtimeMs: mtimeMs ?? e.mtimeMs });
      } else {
        entries.set(p, { ...e, mode: mode ?? e.mode, mtimeMs: mtimeMs ?? e.mtimeMs });
      }
    });
  }

  /** Resolves once the old versions released by earlier commits have been removed. */
  idle(): Promise<void> {
    return this.core.idle();
  }

  /** Zero all keys held by the store; every later call fails with `closed`. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.core.closed) return;
      // From here on no new index mutation, read or write starts (they fail with `closed`, also
      // those already queued behind the running one); the section running now ends first, then
      // the background removals and open readers, and only then are the keys zeroed.
      this.core.closing = true;
      await this.core.exclusive(async () => undefined).catch(() => undefined);
      await this.core.idle();
      await Promise.all([...this.readers].map((r) => r.close().catch(() => undefined)));
      this.core.close();
    })();
    return this.closing;
  }

  private closing: Promise<void> | null = null;
}

export const createStore = (dir: string, keys: KeyProvider, opts?: CreateStoreOptions): Promise<SecureStore> =>
  SecureStore.create(dir, keys, opts);
export const openStore = (dir: string, keys: KeyProvider, opts?: OpenStoreOptions): Promise<SecureStore> =>
  SecureStore.open(dir, keys, opts);
