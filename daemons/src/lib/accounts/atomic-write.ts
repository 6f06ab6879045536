/**
 * Crash-safe replacement of an account file, following shadow-utils'
 * commonio_close() sequence:
 *
 *  1. backup: copy the current file to `<file>-` (same mode and owner), fsync;
 *  2. write the new content to `<file>+` (O_NOFOLLOW, mode and owner of the
 *     current file), fsync;
 *  3. rename `<file>+` over `<file>` (atomic);
 *  4. fsync the directory so the rename is durable.
 *
 * A crash at any point leaves `<file>` either entirely old or entirely new.
 */
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AccountError } from './errors.js';

export interface FileMeta {
  mode: number;
  uid: number;
  gid: number;
}

export async function fileMeta(file: string): Promise<FileMeta> {
  const st = await lstat(file);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

async function writeSynced(target: string, data: Buffer, meta: FileMeta): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  let fh;
  try {
    fh = await open(target, flags, 0o600);
  } catch (e) {
    // A symlink (or other junk) where our temp goes: remove it, never follow it.
    if ((e as NodeJS.ErrnoException).code !== 'ELOOP') throw e;
    await unlink(target);
    fh = await open(target, flags | constants.O_EXCL, 0o600);
  }
  try {
    // Restrict first, then give away: never briefly world-readable.
    await fh.chmod(0o600);
    await fh.chown(meta.uid, meta.gid);
    await fh.chmod(meta.mode);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Atomically replace existing `file` with `data`, keeping its mode and owner
 * and leaving the previous content in `<file>-`.
 */
export async function atomicReplace(file: string, data: Buffer, opts: { backup?: boolean } = {}): Promise<void> {
  let meta: FileMeta;
  try {
    meta = await fileMeta(file);
  } catch (e) {
    throw new AccountError('missing_file', `${file} does not exist`, { file, cause: e });
  }
  if (opts.backup ?? true) {
    const old = await readFile(file);
    await writeSynced(`${file}-`, old, meta);
  }
  const tmp = `${file}+`;
  await writeSynced(tmp, data, meta);
  await rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
