import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { createStore, umkKeyProvider, MemoryCheckpointHolder, type SecureStore } from '../../src/lib/securefs/index.js';
import { isMounted, mountStore, type MountOptions, type StoreMount } from '../../src/lib/securefs-fuse/index.js';

/**
 * Shared fixture of the FUSE tests: a fresh store mounted on a temp dir. The mount is served on
 * the test process's event loop, so tests only ever touch it from child processes (a synchronous
 * fs call in the test process would deadlock).
 */

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(script: string, opts: { uid?: number; gid?: number; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-c', script],
      { uid: opts.uid, gid: opts.gid, cwd: opts.cwd ?? '/', timeout: opts.timeoutMs ?? 20_000, maxBuffer: 64 << 20, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } },
      (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr }),
    );
  });
}

export async function ok(script: string, opts: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(script, opts);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${script}\n${r.stderr}`);
  return r.stdout;
}

export interface Fixture {
  base: string;
  storeDir: string;
  mnt: string;
  store: SecureStore;
  keys: () => ReturnType<typeof umkKeyProvider>;
  m: StoreMount;
}

const live: Fixture[] = [];

/** A new store under /tmp/<prefix>XXXX/store, mounted on …/mnt (the base is 0755 so other users reach it). */
export async function setupMount(prefix: string, opts: Partial<MountOptions> = {}): Promise<Fixture> {
  const base = await mkdtemp(`/tmp/${prefix}`);
  await chmod(base, 0o755);
  const storeDir = path.join(base, 'store');
  const mnt = path.join(base, 'mnt');
  await mkdir(mnt, { mode: 0o700 });
  const umk = randomBytes(32);
  const storeId = randomBytes(16);
  const holder = new MemoryCheckpointHolder();
  const keys = () => umkKeyProvider(umk, storeId, { checkpoints: holder });
  const store = await createStore(storeDir, keys());
  const fx = { base, storeDir, mnt, store, keys } as Fixture;
  live.push(fx);
  fx.m = await mountStore(store, mnt, { uid: 0, gid: 0, ...opts });
  return fx;
}

/** Unmount and remove every fixture made since the last call (use in afterEach). */
export async function cleanupMounts(): Promise<void> {
  for (const fx of live.splice(0)) {
    await fx.m?.unmount().catch(() => undefined);
    if (await isMounted(fx.mnt)) await run(`fusermount -uz '${fx.mnt}'`);
    await fx.store.close();
    await rm(fx.base, { recursive: true, force: true });
  }
}
