import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ProtocolError } from '@redbear/protocol';
import { getUser, humanUsers, isLockedHash, type UserRecord } from '../lib/accounts/index.js';
import type { Root } from '../runtime/index.js';
import { toProtocolError } from './account-errors.js';
import type { AuthdConfig } from './config.js';
import type { PinStore } from './pins.js';

export interface UserSummary {
  username: string;
  full_name: string;
  uid: number;
  has_pin: boolean;
  locked: boolean;
  has_avatar: boolean;
}

export type AvatarMime = 'image/png' | 'image/jpeg' | 'image/svg+xml';

/**
 * The greeter's user list: human users only (UID_MIN..UID_MAX, a login shell, not hidden by
 * config). Never a hash: only the derived `locked` flag leaves this module.
 */
export class UserDirectory {
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
    return Promise.all(
      visible.map(async (u) => ({
        username: u.passwd.name,
        full_name: u.fullName.slice(0, 256),
        uid: u.passwd.uid,
        has_pin: this.cfg.pin.enabled && this.pins.has(u.passwd.name, u.passwd.uid),
        locked: isLockedHash(u.shadow ? u.shadow.hash : u.passwd.password),
        has_avatar: (await this.avatarFile(u).catch(() => null)) !== null,
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

  /** `~/.face`, then `<icons_dir>/<user>`; first that is a safe, small, recognised image. */
  private async avatarFile(u: UserRecord): Promise<{ mime: AvatarMime; data: Buffer } | null> {
    const candidates: Array<[dir: string, name: string]> = [];
    if (u.passwd.home.startsWith('/') && u.passwd.home !== '/') candidates.push([u.passwd.home, '.face']);
    candidates.push([this.cfg.avatars.icons_dir, u.passwd.name]);
    for (const [dir, name] of candidates) {
      const data = await readConfined(this.root.path(dir), name, this.cfg.avatars.max_bytes).catch(() => null);
      if (!data) continue;
      const mime = sniff(data);
      if (mime) return { mime, data };
    }
    return null;
  }
}

/**
 * Read `dir/name` without following a link at the last component (O_NOFOLLOW), only when the
 * opened file is a regular file of at most `max` bytes whose real path lies inside the real
 * path of `dir` (so no link in the directory part leads elsewhere) and is the file we opened.
 */
export async function readConfined(dir: string, name: string, max: number): Promise<Buffer | null> {
  if (name.includes('/') || name === '..' || name === '.') return null;
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
