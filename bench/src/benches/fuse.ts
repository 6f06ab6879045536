import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createStore, umkKeyProvider, MemoryCheckpointHolder } from '@redbear/daemons/lib/securefs';
import { loadFuse, mountStore, type StoreMount } from '@redbear/daemons/lib/securefs-fuse';
import type { Bench, BenchRow } from '../types.js';
import { timeMs } from '../stats.js';

const run = promisify(execFile);
const MiB = 1 << 20;

/** How the file systems under test are driven: the same `dd` runs for each. */
interface Target {
  name: string;
  dir: string;
  /** Unmount and mount again, so that a read starts with a cold page cache. */
  remount(): Promise<void>;
  close(): Promise<void>;
}

async function which(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

async function ours(base: string): Promise<Target> {
  const dir = path.join(base, 'securefs-mnt');
  await mkdir(dir);
  const store = await createStore(path.join(base, 'securefs-store'), umkKeyProvider(randomBytes(32), randomBytes(16), { checkpoints: new MemoryCheckpointHolder() }));
  const opts = { uid: 0, gid: 0 };
  let m: StoreMount = await mountStore(store, dir, opts);
  return {
    name: 'SecureFS FUSE mount',
    dir,
    async remount() {
      await m.unmount();
      m = await mountStore(store, dir, opts);
    },
    async close() {
      await m.unmount();
      await store.close();
    },
  };
}

async function gocryptfs(base: string): Promise<Target> {
  const cipher = path.join(base, 'gocryptfs-cipher');
  const dir = path.join(base, 'gocryptfs-mnt');
  const pass = path.join(base, 'gocryptfs-pass');
  await mkdir(cipher);
  await mkdir(dir);
  await writeFile(pass, randomBytes(16).toString('hex'), { mode: 0o600 });
  // -xchacha: the same AEAD as SecureFS (XChaCha20-Poly1305); -scryptn 10 only shortens the
  // (untimed) key derivation at mount.
  await run('gocryptfs', ['-q', '-init', '-xchacha', '-scryptn', '10', '-passfile', pass, cipher]);
  // gocryptfs forks a daemon that would hold execFile's pipes open: wait for the parent's exit
  // (it exits once the mount is up) with no pipes at all.
  const mount = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn('gocryptfs', ['-q', '-nosyslog', '-passfile', pass, cipher, dir], { stdio: 'ignore' });
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`gocryptfs exited with ${code}`))));
    });
  const unmount = () => run('fusermount', ['-u', dir]);
  await mount();
  return {
    name: 'gocryptfs -xchacha',
    dir,
    async remount() {
      await unmount();
      await mount();
    },
    close: async () => void (await unmount().catch(() => undefined)),
  };
}

/** Best of `rounds`: write `src` with dd (1 MiB blocks, fsync at the end), remount, read it back cold. */
async function throughput(t: Target, src: string, size: number, rounds: number): Promise<{ writeBps: number; readBps: number }> {
  const f = path.join(t.dir, 'big');
  let w = Infinity;
  let r = Infinity;
  for (let i = 0; i < rounds; i++) {
    w = Math.min(w, await timeMs(() => run('dd', [`if=${src}`, `of=${f}`, 'bs=1M', 'conv=fsync', 'status=none'])));
    await t.remount();
    r = Math.min(r, await timeMs(() => run('dd', [`if=${f}`, 'of=/dev/null', 'bs=1M', 'status=none'])));
    const back = await run('cmp', [src, f]).then(
      () => true,
      () => false,
    );
    if (!back) throw new Error(`fuse bench: ${t.name} read back different bytes`);
  }
  return { writeBps: size / (w / 1000), readBps: size / (r / 1000) };
}

/**
 * The encrypted home as a user's programs see it: sequential write and read of one file through
 * the FUSE mount with `dd bs=1M`, against gocryptfs (the FUSE encrypted file system closest to
 * SecureFS, with the same AEAD) driven by the same commands on the same tmpfs, in the same run.
 * A plain tmpfs file is shown for the ceiling.
 */
export const bench: Bench = {
  name: 'fuse',
  async run(ctx) {
    const rows: BenchRow[] = [];
    if (process.getuid?.() !== 0 || !existsSync('/dev/fuse')) {
      ctx.log('fuse: skipped (needs root and /dev/fuse)');
      return rows;
    }
    try {
      loadFuse();
    } catch (e) {
      ctx.log(`fuse: skipped (${(e as Error).message})`);
      return rows;
    }
    const size = ctx.quick ? 16 * MiB : 256 * MiB;
    const rounds = ctx.quick ? 1 : 3;
    const base = await mkdtemp(existsSync('/dev/shm') ? '/dev/shm/rb-fuse-' : path.join(ctx.tmpDir, 'fuse-'));
    const targets: Target[] = [];
    try {
      const src = path.join(base, 'src.bin');
      await writeFile(src, randomBytes(size));
      const plainDir = path.join(base, 'plain');
      await mkdir(plainDir);
      targets.push({ name: 'plain tmpfs', dir: plainDir, remount: async () => undefined, close: async () => undefined });
      targets.push(await ours(base));
      if (await which('gocryptfs')) targets.push(await gocryptfs(base));
      else ctx.log('fuse: gocryptfs is not installed (apt-get install gocryptfs): no reference');
      const got = new Map<string, { writeBps: number; readBps: number }>();
      for (const t of targets) got.set(t.name, await throughput(t, src, size, rounds));
      const us = got.get('SecureFS FUSE mount')!;
      const gc = got.get('gocryptfs -xchacha');
      const plain = got.get('plain tmpfs')!;
      const note = `${size / MiB} MiB, dd bs=1M (write with conv=fsync; read after a remount, page cache cold), best of ${rounds}; plain tmpfs file: write ${(plain.writeBps / 1e6).toFixed(0)} MB/s, read ${(plain.readBps / 1e6).toFixed(0)} MB/s`;
      const ref = (bps: number | undefined) => (bps === undefined ? {} : { reference: bps / 1e6, referenceName: 'gocryptfs 2 -xchacha, same dd, same tmpfs' });
      rows.push({ bench: 'fuse', metric: 'home mount: sequential write vs gocryptfs', ours: us.writeBps / 1e6, unit: 'MB/s', higherIsBetter: true, ...ref(gc?.writeBps), note });
      rows.push({ bench: 'fuse', metric: 'home mount: sequential read vs gocryptfs', ours: us.readBps / 1e6, unit: 'MB/s', higherIsBetter: true, ...ref(gc?.readBps), note });
    } finally {
      for (const t of targets) await t.close().catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    }
    return rows;
  },
};
