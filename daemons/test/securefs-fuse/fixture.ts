import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createStore, umkKeyProvider, MemoryCheckpointHolder, type KeyProvider, type SecureStore } from '../../src/lib/securefs/index.js';
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

/**
 * A new store under /tmp/<prefix>XXXX/store, mounted on …/mnt (the base is 0755 so other users
 * reach it). `wrapKeys` may instrument every key provider the fixture hands out.
 */
export async function setupMount(prefix: string, opts: Partial<MountOptions> = {}, wrapKeys: (p: KeyProvider) => KeyProvider = (p) => p): Promise<Fixture> {
  const base = await mkdtemp(`/tmp/${prefix}`);
  await chmod(base, 0o755);
  const storeDir = path.join(base, 'store');
  const mnt = path.join(base, 'mnt');
  await mkdir(mnt, { mode: 0o700 });
  const umk = randomBytes(32);
  const storeId = randomBytes(16);
  const holder = new MemoryCheckpointHolder();
  const keys = () => wrapKeys(umkKeyProvider(umk, storeId, { checkpoints: holder }));
  const store = await createStore(storeDir, keys());
  const fx = { base, storeDir, mnt, store, keys } as Fixture;
  live.push(fx);
  fx.m = await mountStore(store, mnt, { uid: 0, gid: 0, ...opts });
  return fx;
}

/** Resolves once `file` exists (polled; never a path on a mount this process serves). */
export async function until(file: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await access(file).then(() => true, () => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A writer process holding one descriptor on `target` (a close in between would commit: FUSE
 * flush): it writes the files `first` to it, creates `<base>/phase1`, waits for `<base>/go`,
 * writes the files `then` and closes. Resolves once phase1 exists; `done` is the process.
 */
export async function heldWriter(base: string, target: string, first: string[], then: string[] = []): Promise<{ done: Promise<Run> }> {
  const writeAll = (files: string[]) => files.map((f) => `fs.writeSync(fd, fs.readFileSync(${JSON.stringify(f)}));`).join(' ');
  const script = [
    `const fs = require('fs');`,
    `const fd = fs.openSync(${JSON.stringify(target)}, 'w');`,
    writeAll(first),
    `fs.writeFileSync(${JSON.stringify(`${base}/phase1`)}, '');`,
    `while (!fs.existsSync(${JSON.stringify(`${base}/go`)})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);`,
    writeAll(then),
    `fs.closeSync(fd);`,
  ].join(' ');
  const file = path.join(base, `writer-${randomBytes(4).toString('hex')}.cjs`);
  await writeFile(file, script);
  const done = run(`'${process.execPath}' '${file}'`, { timeoutMs: 60_000 });
  await Promise.race([until(path.join(base, 'phase1')), done.then((r) => Promise.reject(new Error(`writer exited early (${r.code}): ${r.stderr}`)))]);
  return { done };
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
