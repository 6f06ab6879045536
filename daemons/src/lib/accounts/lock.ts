/**
 * Locking compatible with shadow-utils (commonio.c) and glibc lckpwdf():
 *
 *  1. an in-process mutex per root (fcntl locks are per process / per open
 *     file description, and link locks carry only a pid, so two callers in the
 *     same process must be serialised here);
 *  2. lckpwdf(): fcntl write lock on `<root>/etc/.pwd.lock`;
 *  3. per-file lock files `<root>/etc/<db>.lock`, taken like commonio's
 *     do_lock_file(): write our pid into `<db>.<pid>`, link() it to
 *     `<db>.lock`, check the link count is 2, unlink the temp. An existing lock
 *     whose pid is not alive is stale and removed.
 *
 * Files are locked in the fixed order passwd, shadow, group, gshadow, after
 * .pwd.lock, and released in reverse. Because every cooperating writer holds
 * .pwd.lock while it inspects/removes stale per-file locks, the
 * check-then-unlink of a stale lock cannot race with another cooperating
 * writer.
 */
import { lstatSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { link, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AccountError } from './errors.js';
import { acquireFcntlLock, type FcntlLockHandle } from './fcntl-lock.js';
import { ACCOUNT_FILES, etcPath, type AccountFileName } from './paths.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000; // shadow-utils: 15 tries, 1 s apart

export interface LockOptions {
  timeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

async function unlinkQuiet(p: string): Promise<void> {
  try {
    await unlink(p);
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
  }
}

/** Returns 'ok' when `lockPath` is ours, 'busy' when a live process holds it. */
async function tryLinkLock(dbPath: string): Promise<'ok' | 'busy'> {
  const pid = process.pid;
  const tmp = `${dbPath}.${pid}`;
  const lockPath = `${dbPath}.lock`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(String(pid));
  } finally {
    await fh.close();
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(tmp, lockPath);
        if ((await stat(tmp)).nlink !== 2) return 'busy';
        return 'ok';
      } catch (e) {
        if (code(e) !== 'EEXIST') throw e;
      }
      let content: string;
      let mtimeMs: number;
      try {
        content = await readFile(lockPath, 'latin1');
        mtimeMs = (await stat(lockPath)).mtimeMs;
      } catch (e) {
        if (code(e) === 'ENOENT') continue; // released meanwhile
        throw e;
      }
      const holder = /^\s*([0-9]+)\s*$/.exec(content);
      const holderPid = holder ? Number(holder[1]) : NaN;
      let stale: boolean;
      if (!Number.isSafeInteger(holderPid) || holderPid <= 0) {
        // A lock without a pid: shadow-utils refuses it. Treat it as stale once it is clearly abandoned.
        stale = Date.now() - mtimeMs > 5_000;
      } else {
        // Our own pid cannot be a live holder: the in-process mutex excludes that.
        stale = holderPid === pid || !isPidAlive(holderPid);
      }
      if (!stale) return 'busy';
      await unlinkQuiet(lockPath);
      if (Number.isSafeInteger(holderPid) && holderPid !== pid) await unlinkQuiet(`${dbPath}.${holderPid}`);
    }
    return 'busy';
  } finally {
    await unlinkQuiet(tmp);
  }
}

async function acquireLinkLock(dbPath: string, deadline: number): Promise<boolean> {
  let delay = 2;
  for (;;) {
    if ((await tryLinkLock(dbPath)) === 'ok') return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(delay * 2, 50);
  }
}

/** Remove `<db>.<pid>` temp files left by dead processes (killed mid-lock). Call while holding the locks. */
function sweepStaleTemps(root: string): void {
  const etc = etcPath(root, '');
  let names: string[];
  try {
    names = readdirSync(etc);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^(passwd|shadow|group|gshadow)\.([0-9]+)$/.exec(n);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || isPidAlive(pid)) continue;
    try {
      // Only plain files; best effort, a race with another remover is harmless.
      if (lstatSync(path.join(etc, n)).isFile()) unlinkSync(path.join(etc, n));
    } catch {
      /* ignore */
    }
  }
}

const mutexes = new Map<string, Promise<void>>();

async function acquireMutex(key: string, deadline: number): Promise<(() => void) | null> {
  for (;;) {
    const current = mutexes.get(key);
    if (!current) break;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([current, new Promise<void>((r) => (timer = setTimeout(r, remaining)))]);
    clearTimeout(timer);
  }
  let release!: () => void;
  const p = new Promise<void>((r) => (release = r));
  mutexes.set(key, p);
  return () => {
    if (mutexes.get(key) === p) mutexes.delete(key);
    release();
  };
}

export interface HeldLocks {
  root: string;
  files: readonly AccountFileName[];
}

/**
 * Run `fn` while holding lckpwdf's .pwd.lock and the per-file locks for
 * `files` (those that exist; gshadow is skipped when absent). Always releases.
 * Throws AccountError('lock_timeout') when the locks are not obtained in time.
 */
export async function withAccountLock<T>(
  root: string,
  files: readonly AccountFileName[],
  fn: (held: HeldLocks) => Promise<T> | T,
  opts: LockOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const key = path.resolve(root);
  const timeout = (what: string): AccountError =>
    new AccountError('lock_timeout', `timed out after ${timeoutMs} ms waiting for ${what}`, { file: what });

  const releaseMutex = await acquireMutex(key, deadline);
  if (!releaseMutex) throw timeout('in-process account lock');
  let fl: FcntlLockHandle | null = null;
  const linked: string[] = [];
  try {
    const pwdLock = etcPath(root, '.pwd.lock');
    fl = await acquireFcntlLock(pwdLock, Math.max(0, deadline - Date.now()));
    if (!fl) throw timeout(pwdLock);
    const ordered = ACCOUNT_FILES.filter((f) => files.includes(f));
    const held: AccountFileName[] = [];
    for (const f of ordered) {
      const db = etcPath(root, f);
      if (f === 'gshadow' || f === 'shadow') {
        try {
          statSync(db);
        } catch {
          continue; // optional databases: do not lock (or create) what does not exist
        }
      }
      if (!(await acquireLinkLock(db, deadline))) throw timeout(`${db}.lock`);
      linked.push(`${db}.lock`);
      held.push(f);
    }
    sweepStaleTemps(root);
    return await fn({ root, files: held });
  } finally {
    for (const l of linked.reverse()) {
      try {
        await unlinkQuiet(l);
      } catch {
        /* keep releasing */
      }
    }
    fl?.release();
    releaseMutex();
  }
}
