import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { wipe, type Logger, type Root } from '../runtime/index.js';

/** uid/gid/home of a user in the root's /etc/passwd (null when absent). */
export function lookupUser(root: Root, name: string): { uid: number; gid: number; home: string } | null {
  for (const line of readLines(root.path('/etc/passwd'))) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, home: f[5] ?? '/' };
    }
  }
  return null;
}

/** gid of a group in the root's /etc/group (null when absent). */
export function lookupGroup(root: Root, name: string): number | null {
  for (const line of readLines(root.path('/etc/group'))) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3) {
      const gid = Number(f[2]);
      if (Number.isInteger(gid)) return gid;
    }
  }
  return null;
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

export function expandArgv(argv: readonly string[], vars: Record<string, string>): string[] {
  return argv.map((a) => a.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m));
}

/**
 * Run a short command (chvt …) with a timeout. Never throws: a missing chvt must not take
 * the greeter down; the result is logged.
 */
export function runCommand(argv: readonly string[], timeoutMs: number, log: Logger, what: string): Promise<boolean> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.resolve(true);
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, detail: Record<string, unknown>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      (ok ? log.info : log.warn)(`${what}: ${ok ? 'done' : 'failed'}`, { argv: [...argv], ...detail });
      resolve(ok);
    };
    const child = spawn(cmd, args, { stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(false, { error: `no exit within ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => finish(false, { error: e.code ?? e.message }));
    child.once('exit', (code, sig) => finish(code === 0, { code, signal: sig }));
  });
}

interface PendingLogin {
  username: string;
  uid: number;
  password: Buffer;
  timer: NodeJS.Timeout;
}

/**
 * First-boot continue tokens: the password given to create_first_user is kept in a Buffer bound
 * to a random single-use token so start_first_session logs in without a second prompt. The
 * Buffer is zeroed on use, on expiry and on close.
 */
export class ContinueTokens {
  private readonly pending = new Map<string, PendingLogin>();
  constructor(readonly ttlMs: number) {}

  issue(username: string, uid: number, password: string): string {
    const token = randomBytes(32).toString('base64url');
    const entry: PendingLogin = {
      username,
      uid,
      password: Buffer.from(password, 'utf8'),
      timer: setTimeout(() => this.drop(token), this.ttlMs),
    };
    entry.timer.unref();
    this.pending.set(token, entry);
    return token;
  }

  /** The login bound to the token, once; the caller must wipe `password` after use. */
  take(token: string): { username: string; uid: number; password: Buffer } | null {
    const e = this.pending.get(token);
    if (!e) return null;
    this.pending.delete(token);
    clearTimeout(e.timer);
    return { username: e.username, uid: e.uid, password: e.password };
  }

  get size(): number {
    return this.pending.size;
  }

  clear(): void {
    for (const t of [...this.pending.keys()]) this.drop(t);
  }

  private drop(token: string): void {
    const e = this.pending.get(token);
    if (!e) return;
    this.pending.delete(token);
    clearTimeout(e.timer);
    wipe(e.password);
  }
}
