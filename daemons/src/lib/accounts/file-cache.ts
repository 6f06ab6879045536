/**
 * Parsed-file cache for the read-only lookups (query.ts, readShells, readLoginDefs).
 *
 * A change made outside this process (useradd, passwd, vipw, an editor) is seen by the very
 * next request. A cached parse is reused only while the file's identity — (dev, ino, size,
 * mtime ns, ctime ns) — is unchanged. That identity is confirmed by a stat, or — the common
 * case — skipped when the directory's inotify token (dir-watch.ts, read synchronously at the
 * lookup) shows that nothing in the directory changed since the last confirmation, at most
 * FAST_PATH_MAX_AGE_MS ago (mounts over a file and lost events are not reported by inotify).
 *
 * Two details keep that exact:
 * - the identity cached is the fstat of the descriptor the bytes were read from (never a
 *   separate stat of the path, which could describe a different file than the one read);
 * - "racy" files are not cached: when the ctime is within a timestamp tick of the read, a later
 *   write in the same tick could leave size and timestamps unchanged (an in-place rewrite of
 *   the same length), so such a parse is used once and dropped (see isRacy). Any write after
 *   an entry was cached gets a ctime newer than the cached one.
 *
 * The cached values are shared between callers and must be treated as read-only (the
 * account model's edit functions are immutable; write paths read the files afresh under
 * the lock and never go through here).
 */
import { constants, promises as fs, stat, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { dirToken, FAST_PATH_MAX_AGE_MS } from './dir-watch.js';

/**
 * A file changed less than this before it was read is not cached. Fine-grained timestamps
 * (Linux: at most one jiffy, ≤ 10 ms, coarse) get a short window; whole-second timestamps
 * (ext2/3, small ext4 inodes, some network filesystems) a window longer than their granularity.
 */
const RACY_NS = 100_000_000n;
const RACY_COARSE_NS = 2_000_000_000n;

/** True when a write after `readStartNs` could leave `st`'s identity unchanged. */
export function isRacy(st: BigIntStats, readStartNs: bigint): boolean {
  const coarse = st.ctimeNs % 1_000_000_000n === 0n && st.mtimeNs % 1_000_000_000n === 0n;
  const window = coarse ? RACY_COARSE_NS : RACY_NS;
  return st.ctimeNs > readStartNs - window || st.mtimeNs > readStartNs - window;
}
const MAX_ENTRIES = 64;

interface Entry {
  identity: string;
  value: unknown;
  /** dirToken of the file's directory taken before the identity was last confirmed (null: none). */
  token: number | null;
  /** When `token` was taken (performance.now() ms): token-only hits are allowed for FAST_PATH_MAX_AGE_MS. */
  tokenAt: number;
}

const cache = new Map<string, Entry>();
let hits = 0;
let misses = 0;
let statFreeHits = 0;

/**
 * stat(2) with nanosecond times. The callback API costs about half the main-thread time of
 * fs.promises.stat, and this runs for every file on every lookup.
 */
export function statBigint(file: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) => stat(file, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}

/**
 * Filesystems whose timestamps follow POSIX closely enough for identity checks: a write
 * changes the file's mtime/ctime, an entry created/removed/renamed changes its directory's.
 * Anything else (FUSE — e.g. a SecureFS home, whose root directory keeps one mtime while
 * mounted — network filesystems, unknown types) is never cached: read afresh every time.
 */
const TRUSTED_FS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0xf2f52010, // f2fs
  0x794c7630, // overlayfs
  0x2fc12fc1, // zfs
]);

/** Whether cached identities of `file` (or of directory `file`) may be trusted. False when unknown. */
export async function trustsTimestamps(file: string): Promise<boolean> {
  try {
    return TRUSTED_FS.has((await fs.statfs(file)).type);
  } catch {
    return false;
  }
}

function identityOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function enoent(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * `parse` of the content of `file`, or of null when the file does not exist. Errors other than
 * ENOENT propagate (from stat, open or read) exactly as a plain read would raise them. `kind`
 * separates parsers of the same file (the key is kind + absolute path).
 */
export async function readCached<T>(kind: string, file: string, parse: (content: Buffer | null) => T): Promise<T> {
  const key = `${kind}\0${file}`;
  const dir = path.dirname(file);
  const entry = cache.get(key);
  if (entry) {
    // Fast path: nothing in the directory changed since the identity was confirmed (inotify,
    // read synchronously now: see dir-watch.ts), so the file is the one cached — no stat.
    const now = performance.now(); // monotonic: a clock step must not stretch the age bound
    const token = entry.token === null ? null : dirToken(dir, true);
    if (token !== null && token === entry.token && now - entry.tokenAt < FAST_PATH_MAX_AGE_MS) {
      hits++;
      statFreeHits++;
      cache.delete(key);
      cache.set(key, entry);
      return entry.value as T;
    }
    let st: BigIntStats | null;
    try {
      st = await statBigint(file);
    } catch (e) {
      if (!enoent(e)) throw e;
      st = null;
    }
    if (st && identityOf(st) === entry.identity) {
      hits++;
      // The token was taken before this stat: a change after it moves the token on.
      entry.token = token;
      entry.tokenAt = now;
      // Most recently used last (eviction takes the oldest first).
      cache.delete(key);
      cache.set(key, entry);
      return entry.value as T;
    }
    cache.delete(key);
  }
  misses++;
  // Whether this file may be cached and token-validated at all; the token is taken before the
  // file is opened, so that any change made while (or after) it is read moves it on. A file
  // that is a symbolic link changes in its target's directory, which the token does not watch.
  const trusted = await trustsTimestamps(file);
  const token = trusted ? dirToken(dir, true) : null;
  const isLink = token !== null && (await fs.lstat(file).then((l) => l.isSymbolicLink(), () => false));
  const tokenAt = performance.now();
  const readStartNs = BigInt(Date.now()) * 1_000_000n;
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, constants.O_RDONLY);
  } catch (e) {
    if (enoent(e)) return parse(null);
    throw e;
  }
  let st: BigIntStats;
  let content: Buffer;
  try {
    st = await fh.stat({ bigint: true });
    content = await fh.readFile();
  } finally {
    await fh.close();
  }
  const value = parse(content);
  if (!isRacy(st, readStartNs) && st.isFile() && trusted) {
    cache.set(key, { identity: identityOf(st), value, token: isLink ? null : token, tokenAt });
    while (cache.size > MAX_ENTRIES) {
      const oldest = cache.keys().next();
      if (oldest.done) break;
      cache.delete(oldest.value);
    }
  }
  return value;
}

/** Drop every cached parse (tests; never needed for correctness). */
export function clearAccountFileCache(): void {
  cache.clear();
  hits = 0;
  misses = 0;
  statFreeHits = 0;
}

/** `statFreeHits`: hits answered by the directory token alone, without a stat (part of `hits`). */
export function accountFileCacheStats(): { entries: number; hits: number; misses: number; statFreeHits: number } {
  return { entries: cache.size, hits, misses, statFreeHits };
}
