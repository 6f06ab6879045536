import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CryptoStats } from './content-object.js';
import { SecureFsError, isSecureFsError } from './errors.js';
import { encodeIndex, indexHash, type DirEntry, type Entry, type FileEntry, type IndexState } from './index-file.js';
import type { KeyProvider } from './key-provider.js';
import { atomicWrite, INDEX_FILE, OBJECT_RE, OBJECTS_DIR, objectRelPath, TMP_DIR } from './layout.js';
import { parentOf } from './paths.js';
import { ReadBuffers } from './range-reader.js';

/** Wrap a key-provider failure as `locked` (keeps SecureFsErrors as they are). */
export async function fromProvider<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isSecureFsError(e)) throw e;
    throw new SecureFsError('locked', `key provider refused ${what}: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
  }
}

const BACKGROUND_SLOTS = 2;

const ROOT: DirEntry = { type: 'dir', mtimeMs: 0, mode: 0o700 };

/** Read access to a tree of entries: the committed index (StoreCore) or a staged one (Draft). */
export interface EntryView {
  /** Any entry at `path` (a symlink is returned as itself, never followed). */
  lookup(path: string): Entry | undefined;
  /** The file or directory at `path`; a symlink there is `is_symlink`. */
  entry(path: string): FileEntry | DirEntry | undefined;
  /** Paths of the direct children of `dir`, sorted. */
  children(dir: string): string[];
}

function entryOf(view: EntryView, path: string): FileEntry | DirEntry | undefined {
  const e = view.lookup(path);
  if (e?.type === 'symlink') throw new SecureFsError('is_symlink', `${path} is a symbolic link`, { path });
  return e;
}

function childrenIn(entries: ReadonlyMap<string, Entry>, dir: string): string[] {
  const out: string[] = [];
  for (const p of entries.keys()) if (p !== '/' && parentOf(p) === dir) out.push(p);
  return out.sort();
}

/**
 * The next state of the index, staged: every mutation applies its changes here synchronously
 * (StoreCore.mutate), on top of the newest state, and the changes staged while a commit is
 * being written are committed together by the next one. A mutation that throws leaves nothing
 * behind (its changes are undone).
 */
export class Draft implements EntryView {
  private undo: Array<[string, Entry | undefined]> = [];
  readonly released: string[] = [];
  readonly waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];

  constructor(readonly entries: Map<string, Entry>) {}

  lookup(path: string): Entry | undefined {
    return path === '/' ? ROOT : this.entries.get(path);
  }
  entry(path: string): FileEntry | DirEntry | undefined {
    return entryOf(this, path);
  }
  children(dir: string): string[] {
    return childrenIn(this.entries, dir);
  }
  set(path: string, e: Entry): void {
    if (path === '/') throw new Error('Draft: the root directory has no entry');
    this.undo.push([path, this.entries.get(path)]);
    this.entries.set(path, e);
  }
  delete(path: string): void {
    this.undo.push([path, this.entries.get(path)]);
    this.entries.delete(path);
  }
  /** Delete the object of a replaced or removed version once this state is committed. */
  release(object: string): void {
    this.released.push(object);
  }

  /** @internal */
  mark(): { undo: number; released: number } {
    return { undo: this.undo.length, released: this.released.length };
  }
  /** @internal Undo everything staged after `m`. */
  rollback(m: { undo: number; released: number }): void {
    while (this.undo.length > m.undo) {
      const [path, old] = this.undo.pop()!;
      if (old === undefined) this.entries.delete(path);
      else this.entries.set(path, old);
    }
    this.released.length = m.released;
  }
  /** @internal Settles as the commit of this draft does (only for a draft with waiters). */
  outcome(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
  /** @internal Whether anything was staged after `m`. */
  changedSince(m: { undo: number; released: number }): boolean {
    return this.undo.length > m.undo || this.released.length > m.released;
  }
  /** @internal The changes up to here are kept: no need to remember how to undo them. */
  settle(): void {
    this.undo = [];
  }
}

/** Shared state of an open store: index, keys, commit protocol, object pinning and GC. */
export class StoreCore implements EntryView {
  readonly stats: CryptoStats = { chunksEncrypted: 0, chunksDecrypted: 0 };
  /** Stored-bytes buffers of this store's FileReaders (see range-reader.ts). */
  readonly readBuffers = new ReadBuffers();
  private readonly fileKeys = new Map<string, Buffer>();
  private readonly reservedVersions = new Map<string, number>();
  private readonly pins = new Map<string, number>();
  private readonly deferredDeletes = new Set<string>();
  private mutex: Promise<void> = Promise.resolve();
  private pendingCheckpoint: { epoch: number; hash: Buffer } | null = null;
  /** Mutations staged for the next commit (group commit; see mutate()). */
  private draft: Draft | null = null;
  /** The entries of the commit being written, if one is: the base of the next draft. */
  private inflight: Map<string, Entry> | null = null;
  /** The commit being written (rejects with its error), if one is. */
  private committing: Promise<void> | null = null;
  closed = false;
  /** Set by SecureStore.close() first: no new index mutation or content access starts. */
  closing = false;

  constructor(
    readonly dir: string,
    readonly keys: KeyProvider,
    private readonly kIndex: Buffer,
    public state: IndexState,
    readonly keyGen: number,
  ) {}

  live(): void {
    if (this.closed || this.closing) throw new SecureFsError('closed', 'store is closed');
  }

  /** file_key for (file_id, key_gen), cached until close. Callers must not zero it. */
  fileKey = async (fileId: Buffer, keyGen: number): Promise<Buffer> => {
    this.live();
    const k = `${fileId.toString('hex')}:${keyGen}`;
    const hit = this.fileKeys.get(k);
    if (hit) return hit;
    const key = await fromProvider('a file key', () => this.keys.fileKey(fileId, keyGen));
    if (!Buffer.isBuffer(key) || key.length !== 32) throw new SecureFsError('locked', 'key provider returned a bad file key');
    if (this.closed || this.closing) {
      // Arrived after close() began: never cached past the zeroing, never used.
      key.fill(0);
      throw new SecureFsError('closed', 'store is closed');
    }
    this.fileKeys.set(k, key);
    return key;
  };

  /** Any entry at `path` (a symlink is returned as itself, never followed). */
  lookup(path: string): Entry | undefined {
    return path === '/' ? ROOT : this.state.entries.get(path);
  }

  /**
   * The file or directory at `path`, for code that reads or writes content (write-session.ts).
   * The store never follows a symlink and never writes over one: a symlink here is `is_symlink`.
   */
  entry(path: string): FileEntry | DirEntry | undefined {
    return entryOf(this, path);
  }

  children(dir: string): string[] {
    return childrenIn(this.state.entries, dir);
  }

  /**
   * Change the index: `stage` checks the newest state (committed, or being committed) through
   * the draft and stages its changes there, synchronously; it throws to refuse, and then nothing
   * of it is kept. Resolves once a commit holding the changes is durable.
   *
   * Group commit: while one commit is being written, the mutations that arrive are staged
   * together and committed by a single next one, so N concurrent changes cost about two index
   * writes instead of N. If a commit fails, its mutations reject with its error, and so do those
   * staged on top of it (they were checked against a state that never came to be). A stage that
   * refuses or changes nothing answers only once the state it read is durable; if that state
   * fails to commit, the stage runs again against the state that is.
   */
  mutate(stage: (draft: Draft) => void): Promise<void> {
    try {
      this.live();
    } catch (e) {
      return Promise.reject(e);
    }
    const d = (this.draft ??= new Draft(new Map(this.inflight ?? this.state.entries)));
    // What the stage is about to read that is not durable yet: the changes staged in this draft,
    // else the commit being written (which this draft is based on), else nothing.
    const staged = d.waiters.length > 0;
    const writing = this.committing;
    const m = d.mark();
    let refusal: { error: unknown } | null = null;
    try {
      const r: unknown = stage(d);
      if (r !== undefined) throw new Error('StoreCore.mutate: stage must be synchronous and return nothing');
    } catch (e) {
      d.rollback(m);
      refusal = { error: e };
    }
    if (refusal === null && d.changedSince(m)) {
      d.settle();
      return new Promise<void>((resolve, reject) => {
        d.waiters.push({ resolve, reject });
        this.kick();
      });
    }
    // Refused, or nothing to change. Either answer was read off `pending`: it stands once that
    // state is durable. If that commit fails, the state it was read from never came to be, so the
    // stage runs again against the state that is (it is synchronous and left nothing behind).
    const answer = () => (refusal ? Promise.reject(refusal.error) : Promise.resolve());
    const pending = staged ? d.outcome() : writing;
    if (pending === null) return answer();
    return pending.then(answer, () => this.mutate(stage));
  }

  private kick(): void {
    const d = this.draft;
    if (this.committing || !d || d.waiters.length === 0) return;
    this.draft = null;
    this.inflight = d.entries;
    const committing = this.exclusive(() => this.commit(d.entries, d.released));
    this.committing = committing;
    // The commit is over before any waiter hears of it: a mutate() called from a waiter's
    // callback is based on the state now current, never on the one that failed.
    committing.then(
      () => {
        this.committing = null;
        this.inflight = null;
        for (const w of d.waiters) w.resolve();
        this.kick();
      },
      (e: unknown) => {
        this.committing = null;
        this.inflight = null;
        const next = this.draft;
        this.draft = null;
        for (const w of d.waiters) w.reject(e);
        for (const w of next?.waiters ?? []) w.reject(e);
      },
    );
  }

  /** Next unused version number for a file (never reuses one, even for concurrent writers). */
  reserveVersion(fileIdHex: string, current: number): number {
    const v = Math.max(current, this.reservedVersions.get(fileIdHex) ?? 0) + 1;
    this.reservedVersions.set(fileIdHex, v);
    return v;
  }

  /** Serialise index mutations. */
  async exclusive<T>(f: () => Promise<T>): Promise<T> {
    const prev = this.mutex;
    let release!: () => void;
    this.mutex = new Promise<void>((r) => (release = r));
    await prev;
    try {
      this.live();
      return await f();
    } finally {
      release();
    }
  }

  /**
   * Commit a new index (epoch + 1): tmp, fsync, rename, fsync dir — the linearisation point —
   * then checkpoint outside the store, then delete objects no longer referenced. Only through
   * mutate() (inside exclusive()).
   */
  private async commit(entries: Map<string, Entry>, release: string[] = []): Promise<void> {
    if (this.pendingCheckpoint) await this.flushCheckpoint();
    // The keys are zeroed only once this section ends (close() waits for it), but never seal
    // an index after close() has begun: re-check after every await above.
    if (this.closed) throw new SecureFsError('closed', 'store is closed');
    const next: IndexState = { epoch: this.state.epoch + 1, entries };
    const bytes = encodeIndex(next, this.kIndex, this.keys.storeId);
    await atomicWrite(this.dir, INDEX_FILE, bytes, this.dir);
    this.state = next;
    this.pendingCheckpoint = { epoch: next.epoch, hash: indexHash(bytes) };
    try {
      await this.flushCheckpoint();
    } catch {
      // Durable but not yet checkpointed: the next commit retries first (an index at
      // checkpoint+1 is accepted once on open, so a crash here is safe).
    }
    // Released versions are removed in the background: unlinking a large object costs about as
    // much as writing a sixth of it again (the filesystem frees every page), and the commit is
    // already durable. A crash before the unlink leaves garbage that collectGarbage() removes on
    // the next open; close() and idle() wait for these.
    for (const rel of release) this.background(() => this.deleteObject(rel));
  }

  private readonly pending = new Set<Promise<void>>();
  /** Background removals waiting for a slot: at most BACKGROUND_SLOTS run at once, so that an `rm -rf` of thousands of files does not fill libuv's threadpool ahead of reads and writes. */
  private readonly queued: Array<() => void> = [];
  private running = 0;

  private background(task: () => Promise<void>): void {
    const tracked: Promise<void> = new Promise<void>((start) => this.queued.push(start))
      .then(task)
      .catch(() => undefined)
      .finally(() => {
        this.pending.delete(tracked);
        this.running--;
        this.pump();
      });
    this.pending.add(tracked);
    this.pump();
  }

  private pump(): void {
    while (this.running < BACKGROUND_SLOTS && this.queued.length > 0) {
      this.running++;
      this.queued.shift()!();
    }
  }

  /** Resolves once every background removal started so far has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async flushCheckpoint(): Promise<void> {
    const cp = this.pendingCheckpoint;
    if (!cp || !this.keys.checkpoint) {
      this.pendingCheckpoint = null;
      return;
    }
    await fromProvider('the index checkpoint', () => this.keys.checkpoint!(cp.epoch, cp.hash));
    this.pendingCheckpoint = null;
  }

  static objectOf(e: FileEntry): string {
    return objectRelPath(e.fileId, e.version);
  }

  pin(rel: string): () => void {
    this.pins.set(rel, (this.pins.get(rel) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pins.get(rel) ?? 1) - 1;
      if (n > 0) this.pins.set(rel, n);
      else {
        this.pins.delete(rel);
        if (this.deferredDeletes.delete(rel)) this.background(() => this.deleteObject(rel));
      }
    };
  }

  async deleteObject(rel: string): Promise<void> {
    if (this.pins.has(rel)) {
      this.deferredDeletes.add(rel);
      return;
    }
    if (this.referenced().has(rel)) return;
    await unlink(join(this.dir, rel)).catch(() => undefined);
  }

  referenced(): Set<string> {
    const s = new Set<string>();
    for (const e of this.state.entries.values()) if (e.type === 'file') s.add(StoreCore.objectOf(e));
    return s;
  }

  /** Remove tmp leftovers and objects the committed index does not reference (after a crash). */
  async collectGarbage(): Promise<{ removed: string[] }> {
    const removed: string[] = [];
    const tmp = join(this.dir, TMP_DIR);
    for (const f of await readdir(tmp).catch(() => [] as string[])) {
      await rm(join(tmp, f), { force: true, recursive: true });
      removed.push(join(TMP_DIR, f));
    }
    const refs = this.referenced();
    const objRoot = join(this.dir, OBJECTS_DIR);
    for (const sub of await readdir(objRoot).catch(() => [] as string[])) {
      for (const f of await readdir(join(objRoot, sub)).catch(() => [] as string[])) {
        const rel = join(OBJECTS_DIR, sub, f);
        if (OBJECT_RE.test(f) && !refs.has(rel) && !this.pins.has(rel)) {
          await unlink(join(this.dir, rel)).catch(() => undefined);
          removed.push(rel);
        }
      }
    }
    return { removed };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const k of this.fileKeys.values()) k.fill(0);
    this.fileKeys.clear();
    this.kIndex.fill(0);
    this.readBuffers.clear();
  }
}
