/**
 * Change tokens for directories, from one inotify(7) descriptor per process that is read
 * synchronously (non-blocking) at the moment a cache is consulted.
 *
 * The account-file cache and the greeter's "no picture here" cache used to re-stat their files
 * on every lookup to see changes made by other programs at once. A token replaces those stats:
 * `token(dir)` drains the kernel's event queue (one read(2) that usually returns EAGAIN) and
 * returns a number that changes whenever anything in `dir` — an entry created, deleted, renamed,
 * written, truncated, chmod/chown'ed — or `dir` itself (moved, deleted) changed since the token
 * was taken. Because the queue is read synchronously, at the time of the lookup, an event the
 * kernel queued before the lookup began is always seen: the "changes by other programs are
 * seen at once" guarantee of the stat-based check is kept exactly, without a round trip through
 * libuv's threadpool or the event loop. (fs.watch could not give that: its events are delivered
 * by the event loop, possibly after a request that arrived in the same poll.)
 *
 * No token (null) — callers then fall back to their stat-based identity checks — when:
 * - inotify (or libc through koffi) is unavailable;
 * - the directory cannot be watched (missing, permission, the per-user watch limit, more than
 *   MAX_WATCHES directories), or is on a filesystem whose changes may come from elsewhere
 *   (FUSE, network filesystems: only the types of file-cache's TRUSTED_FS are watched).
 * The event queue overflowing (IN_Q_OVERFLOW) invalidates every token at once.
 *
 * What inotify cannot see, and callers must cover (see file-cache.ts, user-directory.ts): a
 * file that is a symbolic link (the change happens in the target's directory), and a mount
 * placed over the file or directory. Callers therefore also bound the age of a token-validated
 * cache entry (a stat-based revalidation at least every FAST_PATH_MAX_AGE_MS).
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

// <sys/inotify.h>, identical on every Linux architecture.
const IN_MODIFY = 0x2;
const IN_ATTRIB = 0x4;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400;
const IN_MOVE_SELF = 0x800;
const IN_UNMOUNT = 0x2000;
const IN_Q_OVERFLOW = 0x4000;
const IN_IGNORED = 0x8000;
const IN_ONLYDIR = 0x1000000;
const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const EAGAIN = 11;
const ENOENT = 2;
const ENOTDIR = 20;
const EINTR = 4;

const WATCH_MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

/** At most this many directories are watched per process (homes of up to ~1000 users plus /etc and the icons directory). */
export const MAX_WATCHES = 2048;

/** A cache entry validated only by tokens is re-checked with stat at least this often (mounts, lost events). */
export const FAST_PATH_MAX_AGE_MS = 2000;

interface Inotify {
  fd: number;
  /** A watch descriptor, or -errno. */
  addWatch(dir: string): number;
  rmWatch(wd: number): void;
  /** Bytes read into buf; 0 when the queue is empty. Throws on other errors. */
  read(buf: Buffer): number;
}

let backend: Inotify | null | undefined;

function loadInotify(): Inotify | null {
  if (backend !== undefined) return backend;
  backend = null;
  if (process.platform !== 'linux' || process.env.REDBEAR_NO_INOTIFY === '1') return null;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const init1 = lib.func('int inotify_init1(int flags)') as (flags: number) => number;
    const addRaw = lib.func('int inotify_add_watch(int fd, const char *path, uint32_t mask)') as (fd: number, p: string, mask: number) => number;
    const add = (fd: number, p: string, mask: number): number => {
      const wd = addRaw(fd, p, mask);
      return wd >= 0 ? wd : -koffi.errno();
    };
    const rm = lib.func('int inotify_rm_watch(int fd, int wd)') as (fd: number, wd: number) => number;
    const read = lib.func('long read(int fd, _Out_ uint8_t *buf, size_t count)') as (fd: number, buf: Buffer, n: number) => number;
    const fd = init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return null;
    backend = {
      fd,
      addWatch: (dir) => add(fd, dir, WATCH_MASK),
      rmWatch: (wd) => void rm(fd, wd),
      read(buf) {
        for (;;) {
          const n = read(fd, buf, buf.length);
          if (n >= 0) return n;
          const err = koffi.errno();
          if (err === EINTR) continue;
          if (err === EAGAIN) return 0;
          throw Object.assign(new Error(`inotify read failed (errno ${err})`), { errno: err });
        }
      },
    };
  } catch {
    backend = null;
  }
  return backend;
}

interface Watch {
  wd: number;
  /** Last use (from `counter`): the least recently used watch is dropped when MAX_WATCHES are in use. */
  used: number;
  /** Set from `counter` on every event for this directory. */
  gen: number;
}

/** Process-wide, strictly increasing: every watch, event and use gets a value never used before. */
let counter = 0;

const byDir = new Map<string, Watch>();
const byWd = new Map<number, string>();

/**
 * Events may have been lost (queue overflow, read failure): drop every watch, so that no token
 * handed out so far matches again and every path is resolved afresh (a lost MOVE_SELF would
 * otherwise leave a watch on a directory that no longer has the path).
 */
function invalidateAll(): void {
  counter++;
  const ino = backend;
  for (const w of byDir.values()) ino?.rmWatch(w.wd);
  byDir.clear();
  byWd.clear();
  unwatchable.clear();
}

function dropLeastRecentlyUsed(ino: Inotify): void {
  let oldest: [string, Watch] | null = null;
  for (const e of byDir) if (!oldest || e[1].used < oldest[1].used) oldest = e;
  if (!oldest) return;
  ino.rmWatch(oldest[1].wd);
  byDir.delete(oldest[0]);
  byWd.delete(oldest[1].wd);
}
/** Directories that could not be watched → when to try again (a missing directory may appear). */
const unwatchable = new Map<string, number>();
const RETRY_UNWATCHABLE_MS = 5000;
const eventBuf = Buffer.alloc(64 * 1024);

/** Read every queued event now (synchronously) and apply it. */
function drain(ino: Inotify): void {
  for (;;) {
    let n: number;
    try {
      n = ino.read(eventBuf);
    } catch {
      invalidateAll();
      return;
    }
    if (n <= 0) return;
    // struct inotify_event { int wd; uint32_t mask; uint32_t cookie; uint32_t len; char name[len]; }
    for (let off = 0; off + 16 <= n; ) {
      const wd = eventBuf.readInt32LE(off);
      const mask = eventBuf.readUInt32LE(off + 4);
      const len = eventBuf.readUInt32LE(off + 12);
      off += 16 + len;
      if (mask & IN_Q_OVERFLOW) {
        invalidateAll();
        continue;
      }
      const dir = byWd.get(wd);
      if (dir === undefined) continue;
      const w = byDir.get(dir);
      if (w) w.gen = ++counter;
      if (mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
        // The watch no longer describes the directory at this path: drop it; the next token()
        // watches whatever is there now (a new generation, so old tokens never match).
        if (!(mask & IN_IGNORED)) ino.rmWatch(wd);
        byWd.delete(wd);
        byDir.delete(dir);
      }
    }
    if (n < eventBuf.length - 4096) return;
  }
}

/**
 * A token for the current contents of directory `dir` (absolute path), or null when changes to
 * it cannot be observed this way. Equal tokens at two moments mean no change was reported in
 * between. `trusted` says whether the directory's filesystem is one whose changes all pass
 * through this kernel (the caller checks it once, e.g. with trustsTimestamps).
 */
export function dirToken(dir: string, trusted: boolean, drainFirst = true): number | null {
  if (!trusted) return null;
  const ino = loadInotify();
  if (!ino) return null;
  if (drainFirst) drain(ino);
  let w = byDir.get(dir);
  if (!w) {
    const retryAt = unwatchable.get(dir);
    if (retryAt !== undefined && performance.now() < retryAt) return null;
    if (byDir.size >= MAX_WATCHES) dropLeastRecentlyUsed(ino);
    const wd = ino.addWatch(dir);
    if (wd < 0) {
      if (-wd === ENOENT || -wd === ENOTDIR) return null; // not there (yet): see presenceToken
      unwatchable.set(dir, performance.now() + RETRY_UNWATCHABLE_MS);
      if (unwatchable.size > MAX_WATCHES) unwatchable.clear();
      return null;
    }
    unwatchable.delete(dir);
    const other = byWd.get(wd);
    if (other !== undefined && other !== dir) {
      // Two paths for one directory (a link or bind mount): keep one watch, no fast path here.
      unwatchable.set(dir, performance.now() + RETRY_UNWATCHABLE_MS);
      return null;
    }
    // Generations come from one process-wide counter, so a re-watched directory never
    // repeats a token handed out for an earlier watch of the same path.
    w = { wd, gen: ++counter, used: 0 };
    byDir.set(dir, w);
    byWd.set(wd, dir);
  }
  w.used = ++counter;
  return w.gen;
}

/**
 * The token of a directory that is already watched, else null — never a new watch, so never a
 * path lookup: for re-validating tokens taken earlier (after one drainDirWatch() per request).
 * `inotify_add_watch` resolves the path on the calling thread, which on an automounted or
 * network path can block; only dirToken, after the caller's own (asynchronous) trust check,
 * adds watches.
 */
export function peekDirToken(dir: string): number | null {
  const w = byDir.get(dir);
  if (!w) return null;
  w.used = ++counter;
  return w.gen;
}

/**
 * A token for "what `dir` is": its own token when it can be watched, or — when it does not
 * exist — the token of its nearest existing ancestor (creating `dir`, or the first missing
 * directory on the way to it, is an event there). Returns the directory the token belongs to,
 * or null when neither can be watched. `trusts` says (asynchronously, off this thread) whether
 * a directory's filesystem passes every change through this kernel; only such directories
 * are watched. Does not drain: call drainDirWatch() once per request first. `dir` must be
 * absolute and normalised.
 */
export async function presenceToken(dir: string, trusts: (dir: string) => Promise<boolean>): Promise<{ dir: string; token: number } | null> {
  if (!loadInotify()) return null;
  // Every path lookup here is asynchronous (libuv's threadpool): none may block this thread.
  const exists = (p: string) => stat(p).then(
    () => true,
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? false : null),
  );
  const here = await exists(dir);
  if (here !== false) {
    if (here === null || !(await trusts(dir))) return null;
    const own = dirToken(dir, true, false);
    return own === null ? null : { dir, token: own };
  }
  let child = dir;
  for (let parent = path.dirname(child); parent !== child; child = parent, parent = path.dirname(parent)) {
    const there = await exists(parent);
    if (there === null) return null;
    if (!there) continue;
    if (!(await trusts(parent))) return null;
    // The ancestor stands in only while its child on the way is missing: token first, then the check.
    const token = dirToken(parent, true, false);
    return token !== null && (await exists(child)) === false ? { dir: parent, token } : null;
  }
  return null;
}

/**
 * Read every queued event now. A caller that consults many tokens for one request drains once
 * (after the request arrived) and then passes drainFirst = false: events queued before the
 * request are applied either way.
 */
export function drainDirWatch(): void {
  const ino = loadInotify();
  if (ino) drain(ino);
}

/** Whether inotify-based tokens are available in this process. */
export function dirWatchAvailable(): boolean {
  return loadInotify() !== null;
}
