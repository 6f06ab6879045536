/**
 * Home directory creation from `<root>/etc/skel` and removal.
 * Never follows symlinks: skel symlinks are copied as symlinks, special
 * files are skipped, and every created node is lchown()ed to the user.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, lchown, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import path from 'node:path';

async function copyTree(src: string, dst: string, uid: number, gid: number): Promise<void> {
  for (const name of await readdir(src)) {
    const s = path.join(src, name);
    const d = path.join(dst, name);
    const st = await lstat(s);
    if (st.isSymbolicLink()) {
      await symlink(await readlink(s), d);
    } else if (st.isDirectory()) {
      await mkdir(d, { mode: 0o700 });
      await copyTree(s, d, uid, gid);
      await chmod(d, st.mode & 0o7777);
    } else if (st.isFile()) {
      // COPYFILE_EXCL: never write through something already at the destination.
      await copyFile(s, d, constants.COPYFILE_EXCL);
      await chmod(d, st.mode & 0o777); // drop setuid/setgid bits from skel files
    } else {
      continue; // fifos, sockets, devices: not copied
    }
    await lchown(d, uid, gid);
  }
}

/**
 * Create `homeAbs` (already resolved under root) owned by uid:gid with `mode`,
 * populated from `skelAbs` when that directory exists. Returns false, without
 * touching anything, when `homeAbs` already exists (like useradd, an existing
 * directory is neither populated nor re-owned).
 */
export async function createHome(homeAbs: string, skelAbs: string | null, uid: number, gid: number, mode: number): Promise<boolean> {
  await mkdir(path.dirname(homeAbs), { recursive: true, mode: 0o755 });
  try {
    await mkdir(homeAbs, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    if (skelAbs !== null) {
      let skelIsDir = false;
      try {
        skelIsDir = (await lstat(skelAbs)).isDirectory();
      } catch {
        skelIsDir = false;
      }
      if (skelIsDir) await copyTree(skelAbs, homeAbs, uid, gid);
    }
    await lchown(homeAbs, uid, gid);
    await chmod(homeAbs, mode);
  } catch (e) {
    await rm(homeAbs, { recursive: true, force: true });
    throw e;
  }
  return true;
}

/**
 * Remove a home directory, but only when it is a real directory owned by
 * `uid` (not a symlink, not someone else's directory). Returns whether it was removed.
 */
export async function removeHome(homeAbs: string, uid: number): Promise<boolean> {
  let st;
  try {
    st = await lstat(homeAbs);
  } catch {
    return false;
  }
  if (!st.isDirectory() || st.uid !== uid) return false;
  await rm(homeAbs, { recursive: true, force: true });
  return true;
}
