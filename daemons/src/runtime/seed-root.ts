import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * A minimal Debian-like system inside a directory: account files with system users only
 * (so first-boot setup runs), the greeter user, runtime and state directories.
 * Used by `npm start` (the dev root), the test harness and `redbear-selftest --start-stack`.
 */
export const GREETER_UID = 990;
export const SHADOW_GID = 42;

const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
greeter:x:${GREETER_UID}:${GREETER_UID}:Red Bear greeter:/var/lib/redbear/greeter:/usr/sbin/nologin
`;
const SHADOW = `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
greeter:!:19000::::::
`;
const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
sudo:x:27:
audio:x:29:
video:x:44:
shadow:x:${SHADOW_GID}:
users:x:100:
input:x:101:
render:x:102:
nogroup:x:65534:
greeter:x:${GREETER_UID}:
`;
const GSHADOW = GROUP.split('\n')
  .filter(Boolean)
  .map((l) => `${l.split(':')[0]}:*::`)
  .join('\n') + '\n';
const LOGIN_DEFS = `# login.defs for a Red Bear test root
UID_MIN 1000
UID_MAX 60000
SYS_UID_MIN 100
SYS_UID_MAX 999
GID_MIN 1000
GID_MAX 60000
PASS_MAX_DAYS 99999
PASS_MIN_DAYS 0
PASS_WARN_AGE 7
`;
const SHELLS = `/bin/sh
/bin/bash
/usr/bin/bash
/usr/bin/sh
`;

export interface SeedOptions {
  /** Where the branding assets come from (copied to /usr/share/redbear/greeter). */
  assetsDir?: string;
}

async function write(file: string, text: string, mode: number, gid = 0): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, { mode });
  await fs.chmod(file, mode);
  await fs.chown(file, 0, gid).catch(() => undefined);
}

/** Create the tree; existing files are left alone (the dev root survives restarts). */
export async function seedRoot(root: string, opts: SeedOptions = {}): Promise<void> {
  const p = (abs: string) => path.join(root, abs);
  // Like /, the root must be traversable by the unprivileged greeter user.
  await fs.mkdir(root, { recursive: true });
  await fs.chmod(root, 0o755);
  for (const d of ['/run', '/run/user', '/var/lib/redbear', '/var/lib/redbear/greeter', '/var/log/redbear', '/home', '/state', '/etc/skel', '/usr/share/redbear/greeter', '/etc/redbear']) {
    await fs.mkdir(p(d), { recursive: true });
  }
  await fs.chmod(p('/run'), 0o755);
  const files: Array<[string, string, number, number?]> = [
    ['/etc/passwd', PASSWD, 0o644],
    ['/etc/shadow', SHADOW, 0o640, SHADOW_GID],
    ['/etc/group', GROUP, 0o644],
    ['/etc/gshadow', GSHADOW, 0o640, SHADOW_GID],
    ['/etc/login.defs', LOGIN_DEFS, 0o644],
    ['/etc/shells', SHELLS, 0o644],
    ['/etc/skel/.profile', '# ~/.profile: executed by the command interpreter for login shells.\n', 0o644],
    ['/etc/hostname', 'redbear\n', 0o644],
  ];
  for (const [file, text, mode, gid] of files) {
    const exists = await fs.stat(p(file)).then(() => true, () => false);
    if (!exists) await write(p(file), text, mode, gid);
  }
  await fs.chown(p('/var/lib/redbear/greeter'), GREETER_UID, GREETER_UID).catch(() => undefined);
  if (opts.assetsDir) {
    for (const name of ['background.png', 'icon.png']) {
      const src = path.join(opts.assetsDir, name);
      const dst = p(`/usr/share/redbear/greeter/${name}`);
      await fs.copyFile(src, dst).catch(() => undefined);
    }
  }
}
