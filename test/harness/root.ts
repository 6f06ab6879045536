import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedRoot } from '../../daemons/src/supervisor/seed-root.js';

export const REPO = path.resolve(import.meta.dirname, '../..');

export interface TestUser {
  name: string;
  password: string;
  uid?: number;
  fullName?: string;
  shell?: string;
  /** mkpasswd method: sha-512 (default), sha-256, yescrypt */
  method?: 'sha-512' | 'sha-256' | 'yescrypt';
  rounds?: number;
  groups?: string[];
}

export interface TestRoot {
  dir: string;
  path(abs: string): string;
  cleanup(): void;
}

/** A fresh hermetic root seeded like a minimal Debian system. */
export async function makeRoot(users: TestUser[] = []): Promise<TestRoot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-root-'));
  await fs.chmod(dir, 0o755);
  await seedRoot(dir, { assetsDir: path.join(REPO, 'assets') });
  for (const u of users) await addUser(dir, u);
  return { dir, path: (abs) => path.join(dir, abs), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A hash made by the real tool; the password goes through stdin, never argv. */
export function mkpasswd(password: string, method: TestUser['method'] = 'sha-512', rounds?: number): string {
  const args = ['-m', method, '--stdin', ...(rounds ? ['-R', String(rounds)] : [])];
  return execFileSync('mkpasswd', args, { input: password, encoding: 'utf8' }).trim();
}

/** Append a human user to the root's account files the way a sysadmin's useradd would. */
export async function addUser(dir: string, u: TestUser): Promise<void> {
  const passwd = await fs.readFile(path.join(dir, 'etc/passwd'), 'utf8');
  const uid = u.uid ?? 1000 + passwd.split('\n').filter((l) => Number(l.split(':')[2]) >= 1000 && Number(l.split(':')[2]) < 60000).length;
  const home = `/home/${u.name}`;
  const hash = mkpasswd(u.password, u.method, u.rounds);
  await fs.appendFile(path.join(dir, 'etc/passwd'), `${u.name}:x:${uid}:${uid}:${u.fullName ?? u.name},,,:${home}:${u.shell ?? '/bin/bash'}\n`);
  await fs.appendFile(path.join(dir, 'etc/shadow'), `${u.name}:${hash}:19500:0:99999:7:::\n`);
  let group = await fs.readFile(path.join(dir, 'etc/group'), 'utf8');
  group += `${u.name}:x:${uid}:\n`;
  for (const g of u.groups ?? []) {
    group = group.replace(new RegExp(`^(${g}:[^:]*:[0-9]+:)(.*)$`, 'm'), (_m, head: string, members: string) => `${head}${members ? members + ',' : ''}${u.name}`);
  }
  await fs.writeFile(path.join(dir, 'etc/group'), group);
  await fs.appendFile(path.join(dir, 'etc/gshadow'), `${u.name}:!::\n`);
  await fs.mkdir(path.join(dir, home), { recursive: true, mode: 0o700 });
  await fs.chown(path.join(dir, home), uid, uid);
}

/** `pwck -r` and `grpck -r` on the root's files; returns their combined output, throws on failure. */
export function checkAccountFiles(dir: string): string {
  // -R chroots into the root, so group members are checked against the root's passwd, not the host's.
  const out: string[] = [];
  for (const [cmd, args] of [
    ['pwck', ['-r', '-q', '-R', dir]],
    ['grpck', ['-r', '-R', dir]],
  ] as const) {
    out.push(execFileSync(cmd, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  }
  return out.join('');
}

/**
 * A directory for recording scripts (power, session, VT commands) inside a test root, with an
 * empty `sessions.log`. World-writable but not sticky: with fs.protected_regular, O_APPEND|O_CREAT
 * on another user's file in a sticky directory fails, and every session user appends to
 * sessions.log. `script(name, text)` writes an executable script into it and returns its path.
 */
export function recordingDir(root: TestRoot, rel: string): { dir: string; script(name: string, text: string): string } {
  const dir = root.path(rel);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  writeFileSync(path.join(dir, 'sessions.log'), '');
  chmodSync(path.join(dir, 'sessions.log'), 0o666);
  return {
    dir,
    script(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      chmodSync(file, 0o755);
      return file;
    },
  };
}
