import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAccountError } from './errors.js';
import { withAccountLock } from './lock.js';
import { getUser } from './query.js';
import { buildForChildren, hasTool, makeRoot, removeRoot } from './test-fixtures.js';

let root = '';
beforeEach(() => {
  root = makeRoot();
});
afterEach(() => removeRoot(root));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

function waitForLine(c: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    c.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(line)) resolve();
    });
    c.once('exit', () => reject(new Error(`exited before ${line}: ${buf}`)));
  });
}

describe('withAccountLock', () => {
  it('creates per-file lock files holding our pid and removes them afterwards; skips absent gshadow', async () => {
    rmSync(path.join(root, 'etc/gshadow'));
    await withAccountLock(root, ['passwd', 'shadow', 'group', 'gshadow'], (held) => {
      expect(held.files).toEqual(['passwd', 'shadow', 'group']);
      for (const f of ['passwd', 'shadow', 'group']) expect(readFileSync(path.join(root, `etc/${f}.lock`), 'utf8')).toBe(String(process.pid));
      expect(existsSync(path.join(root, 'etc/gshadow.lock'))).toBe(false);
      expect(existsSync(path.join(root, `etc/passwd.${process.pid}`))).toBe(false);
    });
    for (const f of ['passwd', 'shadow', 'group', 'gshadow']) expect(existsSync(path.join(root, `etc/${f}.lock`))).toBe(false);
    expect(existsSync(path.join(root, 'etc/.pwd.lock'))).toBe(true);
  });

  it('releases on exceptions and serialises callers within one process', async () => {
    await expect(withAccountLock(root, ['passwd'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(path.join(root, 'etc/passwd.lock'))).toBe(false);
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((n) =>
        withAccountLock(root, ['passwd'], async () => {
          order.push(`${n}+`);
          await sleep(20);
          order.push(`${n}-`);
        }),
      ),
    );
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    const err = await withAccountLock(root, ['passwd'], () => withAccountLock(root, ['passwd'], () => 1, { timeoutMs: 100 })).catch((e: unknown) => e);
    expect(isAccountError(err, 'lock_timeout')).toBe(true);
  });

  it('waits for a live holder of a per-file lock and recovers a stale one', async () => {
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(path.join(root, 'etc/shadow.lock'), String(holder.pid));
      const err = await withAccountLock(root, ['passwd', 'shadow'], () => 1, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(isAccountError(err, 'lock_timeout')).toBe(true);
      expect(existsSync(path.join(root, 'etc/passwd.lock'))).toBe(false); // partial acquisition rolled back
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
    // holder is dead now: its lock is stale
    writeFileSync(path.join(root, `etc/shadow.${holder.pid}`), String(holder.pid));
    expect(await withAccountLock(root, ['passwd', 'shadow'], () => 'ok', { timeoutMs: 2000 })).toBe('ok');
    expect(existsSync(path.join(root, 'etc/shadow.lock'))).toBe(false);
    expect(existsSync(path.join(root, `etc/shadow.${holder.pid}`))).toBe(false);
  });
});

describe.runIf(hasTool('useradd'))('compatibility with shadow-utils locking', () => {
  it('useradd waits while we hold the lock, then succeeds', async () => {
    let child: ChildProcess | undefined;
    await withAccountLock(root, ['passwd', 'shadow', 'group', 'gshadow'], async () => {
      child = spawn('useradd', ['--root', root, 'bob'], { stdio: 'ignore' });
      await sleep(1500);
      expect(child.exitCode).toBeNull(); // blocked in lckpwdf()
    });
    if (!child) throw new Error('no child');
    expect(await exited(child)).toBe(0);
    expect((await getUser(root, 'bob'))?.passwd.uid).toBe(1000);
  });

  it('chpasswd fails with a lock error when a per-file lock is held by a live process', async () => {
    const holder = spawn('sleep', ['30']);
    try {
      writeFileSync(path.join(root, 'etc/shadow.lock'), String(holder.pid));
      const r = spawnSync('chpasswd', ['--root', root, '-e'], { input: 'daemon:$6$x$y\n', encoding: 'utf8', timeout: 30_000 });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/lock/i);
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
  }, 40_000);

  // vipw holds lckpwdf() + passwd.lock while its editor runs. The editor is
  // started with system() inside the chroot, so the root gets a real /bin/sh
  // (dash and its libraries); the "editor" blocks reading a FIFO we control.
  const ldd = hasTool('vipw') && hasTool('mkfifo') && existsSync('/bin/dash') ? spawnSync('ldd', ['/bin/dash'], { encoding: 'utf8' }).stdout : '';
  it.runIf(ldd !== '')('our lock waits while vipw holds it', async () => {
    copyFileSync('/bin/dash', path.join(root, 'bin/sh'));
    for (const m of ldd.matchAll(/(\/\S+\.so[^\s]*)/g)) {
      const lib = m[1] as string;
      mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
      copyFileSync(lib, path.join(root, lib));
    }
    const fifo = path.join(root, 'etc/go');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const env: NodeJS.ProcessEnv = { ...process.env, EDITOR: 'read x </etc/go; :' };
    delete env['VISUAL']; // vipw prefers VISUAL, even when empty
    const vipw = spawn('vipw', ['--root', root], { env, stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(path.join(root, 'etc/passwd.lock')); i++) await sleep(20);
      expect(existsSync(path.join(root, 'etc/passwd.lock'))).toBe(true);
      const err = await withAccountLock(root, ['passwd'], () => 1, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(isAccountError(err, 'lock_timeout')).toBe(true);
      let acquiredAt = 0;
      const ours = withAccountLock(root, ['passwd'], () => (acquiredAt = Date.now()), { timeoutMs: 10_000 });
      await sleep(300);
      expect(acquiredAt).toBe(0);
      const releasedAt = Date.now();
      // Non-blocking open: fails (ENXIO) instead of hanging if the editor is gone.
      const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(fd, 'go\n'); // lets the editor exit
      closeSync(fd);
      await ours;
      expect(acquiredAt).toBeGreaterThanOrEqual(releasedAt);
      expect(await exited(vipw)).toBe(0);
    } finally {
      vipw.kill('SIGKILL');
    }
  });
});

describe('lock across processes', () => {
  let build: { dir: string; index: string };
  beforeAll(async () => {
    build = await buildForChildren();
  });
  afterAll(() => rmSync(build.dir, { recursive: true, force: true }));

  it('a lock held by another node process makes us wait', async () => {
    const child = spawn(process.execPath, [path.join(build.dir, 'worker.mjs'), 'hold', root, '800'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await waitForLine(child, 'locked');
    const t0 = Date.now();
    const err = await withAccountLock(root, ['passwd'], () => 1, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(isAccountError(err, 'lock_timeout')).toBe(true);
    await withAccountLock(root, ['passwd'], () => 1, { timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeGreaterThan(300);
    expect(await exited(child)).toBe(0);
  });
});
