import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createStore, detectPersistence, openStore, CONF_FILE, type KeyProvider, type SecureStore } from '../lib/securefs/index.js';
import type { StoreMount } from '../lib/securefs-fuse/index.js';
import type { Logger } from '../runtime/index.js';
import { copySkel, detachStaleHome, mountHome, type HomeMountSettings } from './home-mount.js';

export type { HomeMountSettings } from './home-mount.js';

/** An open SecureFS home, mounted with FUSE over the user's home directory when configured. */
export interface OpenHome {
  store: SecureStore;
  persistent: boolean;
  /** The mountpoint (absolute, under --root) or null when not mounted. */
  mount: string | null;
  mounted: StoreMount | null;
  uid: number;
}

export interface HomeUser {
  uid: number;
  gid: number;
}

export interface HomeOptions {
  mount: HomeMountSettings;
  /** <root>/etc/skel, copied into a store when it is created. */
  skel: string | null;
  log: Logger;
}

/** Mounts of locked sessions: the store is closed, the mount stays (requests wait, then EACCES). */
const parked = new Map<number, StoreMount>();

/** Open the user's SecureFS home at `dir` (creating the store on first login) and mount it. */
export async function openHome(dir: string, keys: KeyProvider, user?: HomeUser, opts?: HomeOptions): Promise<OpenHome> {
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o711 });
  const exists = existsSync(path.join(dir, CONF_FILE));
  if (!exists) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chown(dir, 0, 0).catch(() => undefined);
  }
  const store = exists ? await openStore(dir, keys) : await createStore(dir, keys);
  const persistence = await detectPersistence(dir).catch(() => ({ persistent: false }));
  const home: OpenHome = { store, persistent: persistence.persistent, mount: null, mounted: null, uid: user?.uid ?? -1 };
  if (!user || !opts) return home;
  try {
    if (!exists && opts.skel) {
      const n = await copySkel(store, opts.skel, opts.log);
      opts.log.info('new home populated from skel', { uid: user.uid, files: n });
    }
    const old = parked.get(user.uid);
    parked.delete(user.uid);
    if (old) {
      old.attach(store);
      home.mounted = old;
    } else {
      home.mounted = await mountHome(store, user.uid, user.gid, opts.mount, opts.log);
    }
    home.mount = home.mounted?.mountpoint ?? null;
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return home;
}

/**
 * Close a home. `lock`: buffered writes are committed and the store closed, but the mount stays
 * (parked until the next openHome for this uid). `end` (default): unmount, then close the store.
 */
export async function closeHome(home: OpenHome | undefined, how: 'lock' | 'end' = 'end'): Promise<void> {
  if (!home) return;
  const m = home.mounted;
  if (m) {
    if (how === 'lock') {
      await m.detach().catch(() => undefined);
      parked.set(home.uid, m);
    } else {
      await m.unmount().catch(() => undefined);
    }
  }
  await home.store.close().catch(() => undefined);
}

/** Unmount the parked mount of a locked session (its session ended, or sessiond stops). */
export async function releaseParkedMount(uid?: number): Promise<void> {
  for (const [u, m] of [...parked]) {
    if (uid !== undefined && u !== uid) continue;
    parked.delete(u);
    await m.unmount().catch(() => undefined);
  }
}

/**
 * The session of `uid` ended: unmount its parked mount (locked session) and detach a dead mount
 * a killed sessiond left at the user's home. Call after closeHome(…, 'end').
 */
export async function endHomeMount(uid: number, opts: HomeOptions): Promise<void> {
  await releaseParkedMount(uid);
  await detachStaleHome(uid, opts.mount, opts.log);
}

/**
 * A locked session re-adopted after a restart: put a parked mount (nothing attached: requests
 * wait for the unlock, then EACCES) over the user's home, replacing the dead mount the previous
 * sessiond left, so the desktop never sees ENOTCONN. The unlock's openHome attaches the store.
 * Returns the mountpoint, or null (mounting off or failed: logged).
 */
export async function parkHome(storeDir: string, user: HomeUser, opts: HomeOptions): Promise<string | null> {
  if (parked.has(user.uid)) return parked.get(user.uid)!.mountpoint;
  const m = await mountHome(null, user.uid, user.gid, opts.mount, opts.log, storeDir);
  if (m) parked.set(user.uid, m);
  return m?.mountpoint ?? null;
}

/** The mountpoint of a locked session's parked mount, if any. */
export function parkedMount(uid: number): string | null {
  return parked.get(uid)?.mountpoint ?? null;
}
