import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { parsePasswdFields } from '../lib/accounts/index.js';
import type { SecureStore } from '../lib/securefs/index.js';
import { forceUnmount, FUSE_TYPE, mountDetached, mountStore, mountType, type MountOptions, type StoreMount } from '../lib/securefs-fuse/index.js';
import type { Logger } from '../runtime/index.js';

/** `[home]` settings that concern the FUSE mount (resolved against --root). */
export interface HomeMountSettings {
  /** "home": mount over the user's passwd home directory; "none": keep the store unmounted. */
  mode: 'home' | 'none';
  /** Absolute path of <root>/etc/passwd (the home directory of a uid). */
  passwdFile: string;
  /** Resolve a path from passwd under --root. */
  resolve(p: string): string;
  lockedWaitMs: number;
  maxFileBuffer: number;
}

/** The home directory of `uid` in passwd (null when the uid has no entry or no absolute home). */
export async function passwdHome(passwdFile: string, uid: number): Promise<string | null> {
  const text = await fs.readFile(passwdFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const r = parsePasswdFields(line);
    if (r.ok && r.entry.uid === uid) return r.entry.home.startsWith('/') && r.entry.home !== '/' ? r.entry.home : null;
  }
  return null;
}

/**
 * Make sure the mountpoint exists (0700, owned by the user) without following a symlink the
 * user may have planted, and without touching a live mount synchronously.
 */
async function ensureMountpoint(dir: string, uid: number, gid: number): Promise<void> {
  const look = () => fs.lstat(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
  const st = await look().catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOTCONN') throw e;
    // A dead FUSE mount left by a sessiond that was killed: detach it, then look again.
    await forceUnmount(dir);
    return look();
  });
  if (st && !st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  if (!st) {
    await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.chown(dir, uid, gid);
    await fs.chmod(dir, 0o700);
  }
}

function mountOptions(uid: number, gid: number, s: HomeMountSettings, log: Logger): MountOptions {
  return {
    uid,
    gid,
    lockedWaitMs: s.lockedWaitMs,
    maxFileBuffer: s.maxFileBuffer,
    onError: (e, ctx) => {
      const kind = (e as { kind?: unknown }).kind;
      if ((e as { code?: unknown }).code === 'integrity' || (e as { code?: unknown }).code === 'rollback') {
        log.error('HOME INTEGRITY FAILURE: the encrypted home was tampered with or corrupted', { uid, op: ctx.op, path: ctx.path, kind, error: e.message });
      } else {
        log.error('home mount request failed', { uid, op: ctx.op, path: ctx.path, error: e.message });
      }
    },
  };
}

/**
 * Mount `store` for `uid` as configured — or, with `store` null, a mount with nothing attached
 * yet (a locked session re-adopted after a restart: requests wait for the unlock, then EACCES),
 * `storeDir` answering statfs. null when mounting is off or fails (logged).
 */
export async function mountHome(store: SecureStore | null, uid: number, gid: number, s: HomeMountSettings, log: Logger, storeDir?: string): Promise<StoreMount | null> {
  if (s.mode === 'none') return null;
  const home = await passwdHome(s.passwdFile, uid);
  if (!home) {
    log.warn('home not mounted: no home directory in passwd', { uid });
    return null;
  }
  const mountpoint = s.resolve(home);
  try {
    if (!existsSync('/dev/fuse')) throw new Error('/dev/fuse does not exist');
    await ensureMountpoint(mountpoint, uid, gid);
    const opts = mountOptions(uid, gid, s, log);
    const m = store ? await mountStore(store, mountpoint, opts) : await mountDetached(storeDir ?? mountpoint, mountpoint, opts);
    log.info(store ? 'home mounted' : 'home mounted, locked (waiting for the unlock)', { uid, mountpoint });
    return m;
  } catch (e) {
    log.warn('home not mounted: the session runs without its encrypted home mounted', { uid, mountpoint, error: (e as Error).message });
    return null;
  }
}

/** Copy <root>/etc/skel into a freshly created store (regular files and directories only). */
export async function copySkel(store: SecureStore, skel: string, log: Logger): Promise<number> {
  let copied = 0;
  const walk = async (src: string, dst: string): Promise<void> => {
    const entries = await fs.readdir(src, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const from = path.join(src, e.name);
      const to = dst === '/' ? `/${e.name}` : `${dst}/${e.name}`;
      try {
        const st = await fs.lstat(from);
        if (st.isDirectory()) {
          await store.mkdir(to, { mode: st.mode & 0o7777 });
          await walk(from, to);
        } else if (st.isFile()) {
          await store.writeFile(to, await fs.readFile(from), { mode: st.mode & 0o7777 });
          copied++;
        } else if (st.isSymbolicLink()) {
          await store.symlink(await fs.readlink(from), to); // the link itself, as `cp -a` would
          copied++;
        }
      } catch (x) {
        log.warn('skel entry not copied', { path: from, error: (x as Error).message });
      }
    }
  };
  if (existsSync(skel)) await walk(skel, '/');
  return copied;
}

/**
 * Detach a dead home mount of `uid` left by a sessiond that was killed (nothing in this process
 * serves it). Called when the session ends, so a stale mount never outlives its session.
 */
export async function detachStaleHome(uid: number, s: HomeMountSettings, log: Logger): Promise<void> {
  if (s.mode === 'none') return;
  const home = await passwdHome(s.passwdFile, uid);
  if (!home) return;
  const mountpoint = s.resolve(home);
  if ((await mountType(mountpoint).catch(() => null)) !== FUSE_TYPE) return;
  await forceUnmount(mountpoint).then(
    () => log.info('stale home mount detached', { uid, mountpoint }),
    (e: Error) => log.warn('cannot detach a stale home mount', { uid, mountpoint, error: e.message }),
  );
}
