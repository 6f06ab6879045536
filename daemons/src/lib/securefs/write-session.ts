import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ObjectWriter } from './content-object.js';
import { SecureFsError } from './errors.js';
import { CHUNK_LOG2, encodeHeader, FORMAT_VERSION, NONCE_PREFIX_LEN, SUITE_XCHACHA_HKDF_HMAC } from './header.js';
import type { FileEntry } from './index-file.js';
import { deriveHeaderTagKey, FILE_ID_LEN } from './key-provider.js';
import { ensureDir, fsyncDir, OBJECTS_DIR, objectRelPath, tmpRelPath } from './layout.js';
import { parentOf } from './paths.js';
import { randomBytes } from './rng.js';
import { StoreCore, type Draft, type EntryView } from './store-core.js';

export interface WriteOptions {
  /** POSIX permission bits recorded in the index (default 0o600). */
  mode?: number;
}

/** Check that `path` may hold a file: parent is an existing directory, path is not a directory. */
export function checkFileTarget(core: EntryView, path: string): FileEntry | undefined {
  if (path === '/') throw new SecureFsError('is_dir', 'cannot write to the root directory', { path });
  const parent = parentOf(path);
  const pe = core.entry(parent);
  if (!pe) throw new SecureFsError('not_found', `parent directory ${parent} does not exist`, { path });
  if (pe.type !== 'dir') throw new SecureFsError('not_dir', `${parent} is not a directory`, { path });
  const e = core.entry(path);
  if (e?.type === 'dir') throw new SecureFsError('is_dir', `${path} is a directory`, { path });
  return e;
}

/** Set the mtime of a path's parent directory entry (root has none). */
export function touchParent(entries: Draft, path: string, now: number): void {
  const parent = parentOf(path);
  if (parent === '/') return;
  const pe = entries.lookup(parent);
  if (pe?.type === 'dir') entries.set(parent, { ...pe, mtimeMs: now });
}

/**
 * One new version of one file: a fresh nonce prefix, the whole content encrypted to tmp/,
 * fsync'd and renamed into objects/, then committed to the index (the linearisation point).
 */
export class WriteSession {
  private writer!: ObjectWriter;
  private fh!: FileHandle;
  private tmpAbs!: string;
  private fileIdHex!: string;
  private version!: number;
  private headerTagHex!: string;
  private finished = false;

  private constructor(
    private readonly core: StoreCore,
    readonly path: string,
    private readonly opts: WriteOptions,
    private readonly sizeHint?: number,
  ) {}

  /** `sizeHint`: the plaintext length when known up front (sizes the first I/O buffer). */
  static async begin(core: StoreCore, path: string, opts: WriteOptions = {}, sizeHint?: number): Promise<WriteSession> {
    core.live();
    const s = new WriteSession(core, path, opts, sizeHint);
    await s.init();
    return s;
  }

  private async init(): Promise<void> {
    const existing = checkFileTarget(this.core, this.path);
    const fileId = existing?.type === 'file' ? Buffer.from(existing.fileId, 'hex') : randomBytes(FILE_ID_LEN);
    this.fileIdHex = fileId.toString('hex');
    this.version = this.core.reserveVersion(this.fileIdHex, existing?.type === 'file' ? existing.version : 0);
    const fileKey = await this.core.fileKey(fileId, this.core.keyGen);
    const kh = deriveHeaderTagKey(fileKey);
    const header = encodeHeader(
      {
        version: FORMAT_VERSION,
        suite: SUITE_XCHACHA_HKDF_HMAC,
        chunkLog2: CHUNK_LOG2,
        flags: 0,
        fileId,
        noncePrefix: randomBytes(NONCE_PREFIX_LEN), // fresh for every version: never reuse (subkey, nonce)
        keyGen: this.core.keyGen,
        reserved: 0,
      },
      kh,
    );
    kh.fill(0);
    this.headerTagHex = header.tag.toString('hex');
    this.tmpAbs = join(this.core.dir, tmpRelPath());
    this.fh = await open(this.tmpAbs, 'wx', 0o600);
    this.writer = new ObjectWriter(this.fh, fileKey, header, this.core.stats, this.sizeHint);
  }

  write(data: Buffer): Promise<void> {
    this.core.live();
    return this.writer.write(data);
  }

  /** Finish the object and commit it; returns the committed entry. */
  async commit(): Promise<FileEntry> {
    if (this.finished) throw new SecureFsError('invalid_argument', 'write session already finished');
    this.finished = true;
    const rel = objectRelPath(this.fileIdHex, this.version);
    try {
      const size = await this.writer.finish();
      await this.fh.sync();
      await this.fh.close();
      const objDir = join(this.core.dir, dirname(rel));
      await ensureDir(objDir, join(this.core.dir, OBJECTS_DIR));
      await rename(this.tmpAbs, join(this.core.dir, rel));
      await fsyncDir(objDir);
      let committed!: FileEntry;
      await this.core.mutate((entries) => {
        const prev = checkFileTarget(entries, this.path); // the tree may have changed meanwhile
        const now = Date.now();
        const entry: FileEntry = {
          type: 'file',
          fileId: this.fileIdHex,
          version: this.version,
          headerTag: this.headerTagHex,
          keyGen: this.core.keyGen,
          size,
          mtimeMs: now,
          mode: this.opts.mode ?? (prev?.type === 'file' ? prev.mode : 0o600),
        };
        entries.set(this.path, entry);
        if (!prev) touchParent(entries, this.path, now);
        if (prev?.type === 'file') entries.release(StoreCore.objectOf(prev));
        committed = entry;
      });
      return committed;
    } catch (e) {
      await this.fh.close().catch(() => undefined);
      await unlink(this.tmpAbs).catch(() => undefined);
      await this.core.deleteObject(rel).catch(() => undefined);
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.writer.abort();
    await this.fh.close().catch(() => undefined);
    await unlink(this.tmpAbs).catch(() => undefined);
  }
}
