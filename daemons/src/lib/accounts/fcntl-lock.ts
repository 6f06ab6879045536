/**
 * lckpwdf(3)-compatible lock: an fcntl write lock on the whole of
 * `<root>/etc/.pwd.lock`, the lock glibc's lckpwdf() takes (F_SETLKW) and
 * that every shadow-utils tool takes before touching the account files.
 *
 * We use open-file-description locks (F_OFD_SETLK) when the kernel has them,
 * falling back to classic POSIX F_SETLK: both conflict with lckpwdf's POSIX
 * lock, and OFD locks are not dropped when some other code in this process
 * closes an unrelated descriptor of the same file. We never block the event
 * loop: the non-blocking variant is retried with backoff until a deadline.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';

// Linux generic values (x86_64, aarch64, riscv64 agree).
const F_SETLK = 6;
const F_OFD_SETLK = 37;
const F_WRLCK = 1;
const F_UNLCK = 2;
const EACCES = 13;
const EAGAIN = 11;
const EINVAL = 22;
const EINTR = 4;

interface Libc {
  fcntlLock(fd: number, cmd: number, type: number): number;
  errno(): number;
}

let libc: Libc | null = null;

function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new Error('fcntl locking is only implemented for Linux');
  const require = createRequire(import.meta.url);
  // koffi is CommonJS-first; createRequire keeps it lazy (only daemons that lock load libc).
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const Flock = koffi.struct('rb_accounts_flock', {
    l_type: 'int16_t',
    l_whence: 'int16_t',
    l_start: 'int64_t',
    l_len: 'int64_t',
    l_pid: 'int32_t',
  });
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const ptr = koffi.pointer(Flock);
  libc = {
    fcntlLock(fd, cmd, type) {
      return fcntl(fd, cmd, ptr, { l_type: type, l_whence: 0, l_start: 0, l_len: 0, l_pid: 0 }) as number;
    },
    errno: () => koffi.errno(),
  };
  return libc;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FcntlLockHandle {
  readonly path: string;
  release(): void;
}

let ofdSupported = true;

/** One non-blocking attempt. true = acquired, false = held by someone else. */
function tryLock(fd: number): boolean {
  const c = loadLibc();
  for (;;) {
    const cmd = ofdSupported ? F_OFD_SETLK : F_SETLK;
    if (c.fcntlLock(fd, cmd, F_WRLCK) === 0) return true;
    const err = c.errno();
    if (err === EINTR) continue;
    if (err === EAGAIN || err === EACCES) return false;
    if (err === EINVAL && ofdSupported) {
      ofdSupported = false;
      continue;
    }
    throw Object.assign(new Error(`fcntl lock failed (errno ${err})`), { errno: err });
  }
}

/**
 * Acquire the fcntl write lock on `path` (created 0600 if missing), waiting at
 * most `timeoutMs`. Resolves null on timeout.
 */
export async function acquireFcntlLock(path: string, timeoutMs: number): Promise<FcntlLockHandle | null> {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  try {
    while (!tryLock(fd)) {
      if (Date.now() >= deadline) {
        closeSync(fd);
        return null;
      }
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(delay * 2, 50);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        loadLibc().fcntlLock(fd, ofdSupported ? F_OFD_SETLK : F_SETLK, F_UNLCK);
      } finally {
        closeSync(fd); // closing releases it anyway
      }
    },
  };
}
