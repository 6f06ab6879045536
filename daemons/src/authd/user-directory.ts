import { constants, promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { ProtocolError, type greeter } from '@redbear/protocol';
import { dirToken, drainDirWatch, etcPath, FAST_PATH_MAX_AGE_MS, getUser, peekDirToken, presenceToken, humanUsers, isLockedHash, isRacy, statBigint, trustsTimestamps, type UserRecord } from '../lib/accounts/index.js';
import type { Root } from '../runtime/index.js';
import { toProtocolError } from './account-errors.js';
import type { AuthdConfig } from './config.js';
import { MountTable } from './mount-table.js';
import type { PinStore } from './pins.js';

export type UserSummary = greeter.UserSummaryWire;

export type AvatarMime = 'image/png' | 'image/jpeg' | 'image/svg+xml';

/** Identity of a directory as far as its entries go: creating, removing or renaming an entry changes mtime/ctime. */
function dirIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
}

const MAX_ABSENT = 4096;

/** A directory's stat for one list_users call, with the inotify token taken just before it. */
interface DirStat {
  st: BigIntStats | null;
  token: number | null;
}
type StatDir = (dir: string) => Promise<DirStat>;

interface Absent {
  /** Directory identity when the name was seen absent. */
  identity: string;
  /** The directory's token taken before that was established (null: none), and when. */
  token: number | null;
  tokenAt: number;
}

/** The account files humanUsers reads (all in /etc): the list cache depends on /etc's token and on none of them being a link. */
const ACCOUNT_FILES = ['passwd', 'group', 'shadow', 'login.defs', 'shells'];

interface ListCache {
  /** The answer; has_pin is refreshed from the PIN store on every hit. */
  users: UserSummary[];
  /** (directory, token) pairs taken before anything the list was built from was read. */
  deps: Array<[dir: string, token: number]>;
  /** The mount table generation the list was built with (a mount over a home sends no inotify event). */
  mounts: number;
  at: number;
}

/**
 * The greeter's user list: human users only (UID_MIN..UID_MAX, a login shell, not hidden by
 * config). Never a hash: only the derived `locked` flag leaves this module.
 */
export class UserDirectory {
  /**
   * The last list_users answer (has_pin is re-read from the PIN store on each use),
   * reused while none of the directories it was built from changed: /etc (the account files),
   * every consulted home, the icons directory — checked through their inotify tokens after one
   * drain of the event queue per request, so a change another program made before the request
   * is always seen — and at most FAST_PATH_MAX_AGE_MS old. Not kept when any of those
   * directories has no token (untrusted filesystem, no inotify) or an account file is a link.
   */
  private listCache: ListCache | null = null;

  /**
   * `dir\0name` → identity of `dir` when `name` was seen absent from it. list_users asks for
   * every user's picture on every call and most users have none: while the directory is
   * unchanged (same identity) the name is still absent, so the answer needs one successful
   * stat of the directory instead of a failing lookup per candidate. Only negative answers are
   * kept; a picture that exists is always read and checked afresh. Only on filesystems whose
   * directory timestamps can be trusted (not a FUSE-mounted SecureFS home: see trustsTimestamps).
   * While the directory's inotify token (lib/accounts/dir-watch.ts) is unchanged, not even the
   * directory stat is needed: list_users then touches no file at all.
   */
  private readonly absent = new Map<string, Absent>();

  private readonly mounts = new MountTable();

  constructor(
    private readonly root: Root,
    private readonly cfg: AuthdConfig,
    private readonly pins: PinStore,
  ) {}

  /**
   * The user list. The array returned is the caller's; the objects in it are frozen and shared
   * with the cache (replace, never mutate).
   */
  async list(): Promise<UserSummary[]> {
    // Every event queued before this request is applied now; tokens below are read without
    // draining again. The same for the mount table (one poll).
    drainDirWatch();
    const mounts = this.mounts.current().gen;
    const c = this.listCache;
    if (c && c.mounts === mounts && performance.now() - c.at < FAST_PATH_MAX_AGE_MS && this.depsUnchanged(c.deps)) {
      // Only has_pin can differ (the PIN store is in memory): list_users allocates next to
      // nothing, which keeps the daemon's GC pauses rare under load.
      for (let i = 0; i < c.users.length; i++) {
        const u = c.users[i]!;
        const pin = this.hasPin(u.username, u.uid);
        if (u.has_pin !== pin) c.users[i] = Object.freeze({ username: u.username, full_name: u.full_name, uid: u.uid, has_pin: pin, locked: u.locked, has_avatar: u.has_avatar });
      }
      return c.users.slice();
    }
    this.listCache = null;
    const at = performance.now();
    const etcDir = path.dirname(etcPath(this.root.dir, 'passwd'));
    let deps: Array<[string, number | null]> | null = (await trustsTimestamps(etcDir)) ? [[etcDir, dirToken(etcDir, true, false)]] : null;
    if (deps && (await Promise.all(ACCOUNT_FILES.map((f) => fs.lstat(etcPath(this.root.dir, f)).then((l) => l.isSymbolicLink(), () => false)))).some(Boolean)) deps = null;
    const full = await this.build(deps);
    const frozen = full.map((u) => Object.freeze(u));
    if (deps && deps.every((d): d is [string, number] => d[1] !== null)) {
      this.listCache = { users: frozen.slice(), deps, mounts, at };
    }
    return frozen;
  }

  /** Never adds a watch (no path lookup on this thread): a dropped watch just means a rebuild. */
  private depsUnchanged(deps: Array<[string, number]>): boolean {
    for (const [dir, token] of deps) if (peekDirToken(dir) !== token) return false;
    return true;
  }

  private hasPin(username: string, uid: number): boolean {
    return this.cfg.pin.enabled && this.pins.has(username, uid);
  }

  /**
   * The list, built from the files. `deps` (when not null) collects the token of every directory
   * consulted, each taken before that directory is read.
   */
  private async build(deps: Array<[string, number | null]> | null): Promise<UserSummary[]> {
    let users: UserRecord[];
    try {
      users = await humanUsers(this.root.dir);
    } catch (e) {
      throw toProtocolError(e);
    }
    const hidden = new Set(this.cfg.accounts.hidden_users);
    const visible = users.filter((u) => !hidden.has(u.passwd.name) && /^[a-z_][a-z0-9_-]*[$]?$/.test(u.passwd.name) && u.passwd.name.length <= 32).slice(0, 1000);
    // One stat per directory per call (the icons directory is shared by every user).
    const dirStats = new Map<string, Promise<DirStat>>();
    const statDir: StatDir = (dir) => {
      let p = dirStats.get(dir);
      if (!p) {
        p = (async () => {
          // Watches only on filesystems whose changes all pass through this kernel (checked
          // off this thread first: adding a watch resolves the path here, which must not touch
          // an automounted or network path). The token before the stat: a change after it
          // moves it on, whatever the stat then shows.
          const token = (await trustsTimestamps(dir)) ? dirToken(dir, true, false) : null;
          const st = await statBigint(dir).catch(() => null);
          return { st, token };
        })();
        dirStats.set(dir, p);
      }
      return p;
    };
    // Every directory a picture is looked up in, with its token taken before the lookup (null
    // unless its filesystem's changes all pass through this kernel). A missing directory (no
    // icons directory yet) depends on its nearest existing ancestor.
    const consulted = new Map<string, Promise<[string, number | null]>>();
    const consult = (dir: string): Promise<unknown> => {
      if (!deps) return Promise.resolve();
      let p = consulted.get(dir);
      if (!p) {
        p = presenceToken(dir, trustsTimestamps).then((dep) => (dep ? [dep.dir, dep.token] : [dir, null]));
        consulted.set(dir, p);
      }
      return p;
    };
    const out = await Promise.all(
      visible.map(async (u) => ({
        username: u.passwd.name,
        full_name: u.fullName.slice(0, 256),
        uid: u.passwd.uid,
        has_pin: this.hasPin(u.passwd.name, u.passwd.uid),
        locked: isLockedHash(u.shadow ? u.shadow.hash : u.passwd.password),
        has_avatar: (await this.avatarFile(u, { statDir, consult }).catch(() => null)) !== null,
      })),
    );
    if (deps) for (const dep of consulted.values()) deps.push(await dep);
    return out;
  }

  async isFirstBoot(): Promise<boolean> {
    try {
      return (await humanUsers(this.root.dir)).length === 0;
    } catch (e) {
      throw toProtocolError(e);
    }
  }

  async avatar(username: string): Promise<{ mime: AvatarMime; data_base64: string }> {
    const u = await getUser(this.root.dir, username).catch((e: unknown) => {
      throw toProtocolError(e);
    });
    if (!u || this.cfg.accounts.hidden_users.includes(username)) throw new ProtocolError('not_found', 'no such user');
    const found = await this.avatarFile(u);
    if (!found) throw new ProtocolError('not_found', 'no picture for this user');
    return { mime: found.mime, data_base64: found.data.toString('base64') };
  }

  /**
   * `~/.face`, then `<icons_dir>/<user>`; first that is a safe, small, recognised image. With
   * `statDir` (list_users), names known to be absent from an unchanged directory are skipped.
   */
  private async avatarFile(u: UserRecord, listing?: { statDir: StatDir; consult: (dir: string) => Promise<unknown> }): Promise<{ mime: AvatarMime; data: Buffer } | null> {
    const candidates: Array<[dir: string, name: string]> = [];
    // A home that is a mounted SecureFS store (FUSE) is the user's private data: authd does not
    // look inside it, and a locked store would make the lookup wait. Its owner's picture comes
    // from the AccountsService icon instead.
    if (u.passwd.home.startsWith('/') && u.passwd.home !== '/' && !insideMount(this.root.path(u.passwd.home), this.mounts.current().fuse)) {
      candidates.push([u.passwd.home, '.face']);
    }
    candidates.push([this.cfg.avatars.icons_dir, u.passwd.name]);
    for (const [dir, name] of candidates) {
      const full = this.root.path(dir);
      if (listing) await listing.consult(full); // its token before anything in it is read
      if (listing && (await this.knownAbsent(full, name, listing.statDir))) continue;
      const data = await readConfined(full, name, this.cfg.avatars.max_bytes).catch(() => null);
      if (!data) continue;
      const mime = sniff(data);
      if (mime) return { mime, data };
    }
    return null;
  }

  /** True when `dir/name` cannot be a picture: `dir` is missing, or `name` is absent from it (cached per directory identity). */
  private async knownAbsent(dir: string, name: string, statDir: StatDir): Promise<boolean> {
    const key = `${dir}\0${name}`;
    const known = this.absent.get(key);
    if (known && known.token !== null && performance.now() - known.tokenAt < FAST_PATH_MAX_AGE_MS && peekDirToken(dir) === known.token) return true;
    const tokenAt = performance.now();
    const { st, token } = await statDir(dir);
    if (!st || !st.isDirectory()) return true; // readConfined would fail on this directory
    const identity = dirIdentity(st);
    if (known && known.identity === identity) {
      // Still absent; from now on the token (taken before this stat) vouches for it.
      known.token = known.token === null ? null : token;
      known.tokenAt = tokenAt;
      return true;
    }
    this.absent.delete(key);
    const lookupStartNs = BigInt(Date.now()) * 1_000_000n;
    const missing = await fs.lstat(path.join(dir, name)).then(
      () => false,
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
    );
    if (!missing) return false;
    // Cache only when the directory did not change around the lookup, and not in its racy
    // window (a change within the same timestamp tick would leave the identity unchanged).
    const again = await statBigint(dir).catch(() => null);
    if (again && dirIdentity(again) === identity && !isRacy(again, lookupStartNs) && (await trustsTimestamps(dir))) {
      this.absent.set(key, { identity, token, tokenAt });
      if (this.absent.size > MAX_ABSENT) {
        const oldest = this.absent.keys().next();
        if (!oldest.done) this.absent.delete(oldest.value);
      }
    }
    return true;
  }
}

/** Whether `dir` is at or under one of `mounts`. */
function insideMount(dir: string, mounts: readonly string[]): boolean {
  const d = path.resolve(dir);
  return mounts.some((mp) => d === mp || d.startsWith(mp.endsWith('/') ? mp : mp + '/'));
}

/**
 * Read `dir/name` without following a link at the last component (O_NOFOLLOW), only when the
 * opened file is a regular file of at most `max` bytes whose real path lies inside the real
 * path of `dir` (so no link in the directory part leads elsewhere) and is the file we opened.
 */
export async function readConfined(dir: string, name: string, max: number): Promise<Buffer | null> {
  if (name.includes('/') || name === '..' || name === '.') return null;
  // Cheap refusal first: most users have no picture, and this is on every list_users. Whatever
  // lstat says, an existing name still goes through every check below on the opened file.
  const pre = await fs.lstat(path.join(dir, name)).catch(() => null);
  if (!pre || !pre.isFile() || pre.size > max || pre.size === 0) return null;
  const realDir = await fs.realpath(dir);
  const fh = await fs.open(path.join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > max || st.size === 0) return null;
    const real = await fs.realpath(path.join(dir, name));
    if (path.dirname(real) !== realDir) return null;
    const again = await fs.stat(real);
    if (again.ino !== st.ino || again.dev !== st.dev) return null;
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, st.size, 0);
    return bytesRead === st.size ? buf : null;
  } finally {
    await fh.close();
  }
}

export function sniff(b: Buffer): AvatarMime | null {
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  const head = b.subarray(0, 512).toString('utf8').trimStart();
  if ((head.startsWith('<?xml') || head.startsWith('<svg')) && head.includes('<svg')) return 'image/svg+xml';
  return null;
}
