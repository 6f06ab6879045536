/**
 * Test support (used only by *.test.ts): Debian-like temporary roots and a
 * plain-JS build of this library for child processes.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SHADOW_GID = 42;

export const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
export const SHADOW = `root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
`;
export const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
sudo:x:27:
shadow:x:42:
users:x:100:
nogroup:x:65534:
`;
export const GSHADOW = `root:*::
daemon:*::
bin:*::
sys:*::
sudo:*::
shadow:*::
users:*::
nogroup:*::
`;
export const LOGIN_DEFS = `# test login.defs
PASS_MAX_DAYS	99999
PASS_MIN_DAYS	0
PASS_WARN_AGE	7
UID_MIN			 1000
UID_MAX			60000
GID_MIN			 1000
GID_MAX			60000
USERGROUPS_ENAB yes
NONEXISTENT	/nonexistent
`;
export const SHELLS = `# /etc/shells: valid login shells
/bin/sh
/bin/bash
/usr/bin/bash
`;

export interface RootOptions {
  gshadow?: boolean;
  loginDefs?: boolean;
  shells?: boolean;
}

/** A temporary root with Debian-like account files, /etc/skel, and the system users' home directories (pwck checks them). */
export function makeRoot(opts: RootOptions = {}): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rb-accounts-'));
  const etc = path.join(root, 'etc');
  mkdirSync(etc, { mode: 0o755 });
  writeFileSync(path.join(etc, 'passwd'), PASSWD, { mode: 0o644 });
  writeFileSync(path.join(etc, 'group'), GROUP, { mode: 0o644 });
  writeFileSync(path.join(etc, 'shadow'), SHADOW, { mode: 0o640 });
  chmodSync(path.join(etc, 'shadow'), 0o640);
  chownSync(path.join(etc, 'shadow'), 0, SHADOW_GID);
  if (opts.gshadow ?? true) {
    writeFileSync(path.join(etc, 'gshadow'), GSHADOW, { mode: 0o640 });
    chmodSync(path.join(etc, 'gshadow'), 0o640);
    chownSync(path.join(etc, 'gshadow'), 0, SHADOW_GID);
  }
  if (opts.loginDefs ?? true) writeFileSync(path.join(etc, 'login.defs'), LOGIN_DEFS);
  if (opts.shells ?? true) writeFileSync(path.join(etc, 'shells'), SHELLS);
  const skel = path.join(etc, 'skel');
  mkdirSync(path.join(skel, '.config', 'app'), { recursive: true });
  writeFileSync(path.join(skel, '.bashrc'), '# bashrc\n', { mode: 0o644 });
  writeFileSync(path.join(skel, '.config', 'app', 'settings'), 'x=1\n', { mode: 0o600 });
  symlinkSync('/etc/passwd', path.join(skel, 'link-out'));
  for (const d of ['root', 'usr/sbin', 'usr/bin', 'bin', 'dev', 'home']) mkdirSync(path.join(root, d), { recursive: true });
  // pwck checks that login shells exist inside the root: empty executable placeholders.
  for (const sh of ['/bin/sh', '/bin/bash', '/usr/sbin/nologin']) writeFileSync(path.join(root, sh), '', { mode: 0o755 });
  return root;
}

export function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export function run(cmd: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
}

export function hasTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * Transpile this library (without type-checking) to plain ESM in a temporary
 * directory so child `node` processes can import it. Returns the path of the
 * built index.js. `node_modules` is symlinked so `koffi` resolves.
 */
export async function buildForChildren(): Promise<{ dir: string; index: string }> {
  const ts = (await import('typescript')).default;
  const { readdirSync, readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const srcDir = path.dirname(fileURLToPath(import.meta.url));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rb-accounts-build-'));
  const out = path.join(dir, 'accounts');
  mkdirSync(out);
  for (const f of readdirSync(srcDir)) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    const js = ts.transpileModule(readFileSync(path.join(srcDir, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    writeFileSync(path.join(out, f.replace(/\.ts$/, '.js')), js);
  }
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(path.resolve(srcDir, '../../../../node_modules'), path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'worker.mjs'), WORKER);
  return { dir, index: path.join(out, 'index.js') };
}

/** Child-process worker used by the concurrency and crash tests. */
const WORKER = `
import * as acc from './accounts/index.js';
const [mode, root, arg1, arg2] = process.argv.slice(2);
const HASHES = ['$6$aaaa$${'a'.repeat(20)}', '$6$bbbb$${'b'.repeat(20)}', '$6$cccc$${'c'.repeat(20)}'];
const cfg = { lockTimeoutMs: 60000, nowDays: () => 20000, skel: null, createHome: false };
if (mode === 'add') {
  const n = Number(arg2);
  for (let i = 0; i < n; i++) await acc.addUser(root, { username: arg1 + i, fullName: 'U ' + i, hash: HASHES[0] }, { ...cfg, createHome: true });
  process.stdout.write('done\\n');
} else if (mode === 'hold') {
  await acc.withAccountLock(root, acc.ACCOUNT_FILES, async () => {
    process.stdout.write('locked\\n');
    await new Promise((r) => setTimeout(r, Number(arg1)));
  }, { timeoutMs: 60000 });
} else if (mode === 'loop') {
  let i = 0;
  process.stdout.write('ready\\n');
  for (;;) {
    const name = arg1 + (i++);
    await acc.addUser(root, { username: name, fullName: 'Loop ' + i, hash: HASHES[i % 3] }, cfg);
    process.stdout.write('added\\n');
    const users = (await acc.listUsers(root)).filter((u) => u.passwd.uid >= 1000);
    const pick = users[i % users.length];
    if (pick) await acc.setPasswordHash(root, pick.passwd.name, HASHES[(i + 1) % 3], cfg);
    if (i % 3 === 0 && users.length > 5) await acc.deleteUser(root, users[0].passwd.name, {}, cfg);
  }
}
`;
