import { open, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from './rng.js';

/** On-disk names inside a store directory. */
export const CONF_FILE = 'sfs.conf';
export const INDEX_FILE = 'index.sfsi';
export const OBJECTS_DIR = 'objects';
export const TMP_DIR = 'tmp';
export const OBJECT_RE = /^([0-9a-f]{32})\.([0-9a-f]{16})\.sfs$/;

/** objects/<aa>/<file_id_hex>.<version as 16 hex>.sfs (relative to the store dir). */
export function objectRelPath(fileIdHex: string, version: number): string {
  return join(OBJECTS_DIR, fileIdHex.slice(0, 2), `${fileIdHex}.${version.toString(16).padStart(16, '0')}.sfs`);
}

export function tmpRelPath(): string {
  return join(TMP_DIR, `${randomBytes(12).toString('hex')}.tmp`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function ensureDir(dir: string, parent: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
    await fsyncDir(parent);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Write bytes to tmp/, fsync, rename over `rel`, fsync the target dir. */
export async function atomicWrite(root: string, rel: string, data: Buffer, targetDir: string): Promise<void> {
  const tmp = join(root, tmpRelPath());
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(root, rel));
  await fsyncDir(targetDir);
}
