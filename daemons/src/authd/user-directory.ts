import { constants, promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { ProtocolError, type greeter } from '@redbear/protocol';
import { getUser, humanUsers, isLockedHash, isRacy, statBigint, trustsTimestamps, type UserRecord } from '../lib/accounts/index.js';
import type { Root } from '../runtime/index.js';
import { toProtocolError } from './account-errors.js';
import type { AuthdConfig } from './config.js';
import type { PinStore } from './pins.js';

export type UserSummary = greeter.UserSummaryWire;

export type AvatarMime = 'image/png' | 'image/jpeg' | 'image/svg+xml';

/**
 * The greeter's user list: human users only (UID_MIN..UID_MAX, a login shell, not hidden by
 * config). Never a hash: only the derived `locked` flag leaves this module.
 */
/** Identity of a directory as far as its entries go: creating, removing or renaming an entry changes mtime/ctime. */
function dirIdentity(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
}

const MAX_ABSENT = 4096;

export class UserDirectory {
  /**
   * `dir\0name` → identity of `dir` when `name` was seen absent from it. list_users asks for
   * every user's picture on every call and most users have none: while the directory is
   * unchanged (same identity) the name is still absent, so the answer needs one successful
   * stat of the directory instead of a failing lookup per candidate. Only negative answers are
   * kept; a picture that exists is always read and checked afresh. Only on filesystems whose
   * directory timestamps can be trusted (not a FUSE-mounted SecureFS home: see trustsTimestamps).
   */
  private readonly absent = new Map<string, string>();

  constructor(
    private readonly root: Root,
    private readonly cfg: AuthdConfig,
    private readonly pins: PinStore,
  ) {}

  async list(): Promise<UserSummary[]> {
    let users: UserRecord[];
    try {
      users = await humanUsers(this.root.dir);
    } catch (e) {
      throw toProtocolError(e);
    }
    const hidden = new Set(this.cfg.accounts.hidden_users);
    const visible = users.filter((u) => !hidden.has(u.passwd.name) && /^[a-z_][a-z0-9_-]*[$]?$/.test(u.passwd.name) && u.passwd.name.length <= 32).slice(0, 1000);
    // One stat per directory per call (the icons directory is shared by every user).
    const dirStats = new Map<string, Promise<BigIntStats | null>>();
    const statDir = (dir: string): Promise<BigIntStats | null> => {
      let p = dirStats.get(dir);
      if (!p) {
        p = statBigint(dir).catch(() => null);
        dirStats.set(dir, p);
      }
      return p;
    };
    return Promise.all(
      visible.map(async (u) => ({
        username: u.passwd.name,
        full_name: u.fullName.slice(0, 256),
        uid: u.passwd.uid,
        has_pin: this.cfg.pin.enabled && this.pins.has(u.passwd.name, u.passwd.uid),
        locked: isLockedHash(u.shadow ? u.shadow.hash : u.passwd.password),
        has_avatar: (await this.avatarFile(u, statDir).catch(() => null)) !== null,
      })),
    );
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
  private async avatarFile(u: UserRecord, statDir?: (dir: string) => Promise<BigIntStats | null>): Promise<{ mime: AvatarMime; data: Buffer } | null> {
    const candidates: Array<[dir: string, name: string]> = [];
    // A home that is a mounted SecureFS store (FUSE) is the user's private data: authd does not
    // look inside it, and a locked store would make the lookup wait. Its owner's picture comes
    // from the AccountsService icon instead.
    if (u.passwd.home.startsWith('/') && u.passwd.home !== '/' && !(await insideFuseMount(this.root.path(u.passwd.home)))) {
      candidates.push([u.passwd.home, '.face']);
    }
    candidates.push([this.cfg.avatars.icons_dir, u.passwd.name]);
    for (const [dir, name] of candidates) {
      const full = this.root.path(dir);
      if (statDir && (await this.knownAbsent(full, name, statDir))) continue;
      const data = await readConfined(full, name, this.cfg.avatars.max_bytes).catch(() => null);
      if (!data) continue;
      const mime = sniff(data);
      if (mime) return { mime, data };
    }
    return null;
  }

  /** True when `dir/name` cannot be a picture: `dir` is missing, or `name` is absent from it (cached per directory identity). */
  private async knownAbsent(dir: string, name: string, statDir: (dir: string) => Promise<BigIntStats | null>): Promise<boolean> {
    const st = await statDir(dir);
    if (!st || !st.isDirectory()) return true; // readConfined would fail on this directory
    const key = `${dir}\0${name}`;
    const identity = dirIdentity(st);
    if (this.absent.get(key) === identity) return true;
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
      this.absent.set(key, identity);
      if (this.absent.size > MAX_ABSENT) {
        const oldest = this.absent.keys().next();
        if (!oldest.done) this.absent.delete(oldest.value);
      }
    }
    return true;
  }
}

/** Mount points of FUSE filesystems, from /proc/self/mountinfo (re-read at most every 500 ms). */
let fuseMounts: { at: number; paths: string[] } = { at: 0, paths: [] };
async function insideFuseMount(dir: string): Promise<boolean> {
  if (Date.now() - fuseMounts.at > 500) {
    const text = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const paths: string[] = [];
    for (const line of text.split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!pre || !post || !post.startsWith('fuse')) continue;
      const mp = pre.split(' ')[4];
      if (mp) paths.push(mp.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
    }
    fuseMounts = { at: Date.now(), paths };
  }
  const d = path.resolve(dir);
  return fuseMounts.paths.some((mp) => d === mp || d.startsWith(mp.endsWith('/') ? mp : mp + '/'));
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
