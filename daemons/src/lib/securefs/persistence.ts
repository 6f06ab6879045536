import { readFile, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface PersistenceInfo {
  persistent: boolean;
  fsType: string;
  mountPoint: string;
  reason: string;
}

/** Filesystems whose content does not survive a reboot (or that are not real storage). */
const VOLATILE = new Set(['tmpfs', 'ramfs', 'devtmpfs', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'hugetlbfs', 'debugfs', 'tracefs', 'securityfs', 'pstore', 'bpf', 'configfs', 'fusectl', 'efivarfs', 'autofs', 'rootfs']);
/** Filesystems that store on a device and survive a reboot. */
const DURABLE = new Set(['ext2', 'ext3', 'ext4', 'btrfs', 'xfs', 'f2fs', 'zfs', 'jfs', 'reiserfs', 'bcachefs', 'nilfs2', 'vfat', 'exfat', 'ntfs', 'ntfs3', 'hfsplus', 'apfs', 'redoxfs', 'nfs', 'nfs4', 'cifs', 'smb3', '9p', 'virtiofs']);

interface Mount {
  mountPoint: string;
  fsType: string;
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    if (pre.length < 5 || post.length < 1) continue;
    out.push({ mountPoint: unescape(pre[4]!), fsType: post[0]!, superOptions: post[2] ?? '' });
  }
  return out;
}

function covering(mounts: Mount[], path: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = mp === '/' || path === mp || path.startsWith(mp.endsWith('/') ? mp : mp + '/');
    // Later lines win on equal length (the topmost of stacked mounts).
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** Resolve as much of `dir` as exists (the store dir may not exist yet). */
async function resolveExisting(dir: string): Promise<string> {
  let p = dir;
  for (;;) {
    try {
      return await realpath(p);
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/**
 * Whether data written under `dir` survives a reboot, from /proc/self/mountinfo. Conservative:
 * tmpfs/ramfs and unknown filesystems report `persistent: false`; overlayfs is judged by its upperdir.
 */
export async function detectPersistence(dir: string, mountinfoText?: string): Promise<PersistenceInfo> {
  let text = mountinfoText;
  if (text === undefined) {
    try {
      text = await readFile('/proc/self/mountinfo', 'utf8');
    } catch {
      return { persistent: false, fsType: 'unknown', mountPoint: '', reason: '/proc/self/mountinfo unreadable; not claiming persistence' };
    }
  }
  const mounts = parseMountinfo(text);
  const path = mountinfoText === undefined ? await resolveExisting(dir) : dir;
  const m = covering(mounts, path);
  if (!m) return { persistent: false, fsType: 'unknown', mountPoint: '', reason: `no mount covers ${path}` };
  const base = { fsType: m.fsType, mountPoint: m.mountPoint };
  if (VOLATILE.has(m.fsType)) return { ...base, persistent: false, reason: `${m.fsType} at ${m.mountPoint} is memory-backed` };
  if (DURABLE.has(m.fsType) || m.fsType.startsWith('fuse.')) {
    return { ...base, persistent: true, reason: `${m.fsType} at ${m.mountPoint} is device/network-backed` };
  }
  if (m.fsType === 'overlay') {
    const upper = /(?:^|,)upperdir=([^,]+)/.exec(m.superOptions)?.[1];
    if (upper && upper !== path) {
      const u = covering(mounts, unescape(upper));
      if (u && u !== m) {
        const persistent = !VOLATILE.has(u.fsType) && (DURABLE.has(u.fsType) || u.fsType.startsWith('fuse.'));
        return { ...base, persistent, reason: `overlay upperdir on ${u.fsType} (${u.mountPoint})` };
      }
    }
    return { ...base, persistent: false, reason: 'overlay with an unknown upper layer; not claiming persistence' };
  }
  return { ...base, persistent: false, reason: `unknown filesystem type ${m.fsType}; not claiming persistence` };
}
