import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, fchownSync, lstatSync, mkdirSync, openSync, writeSync, chmodSync, chownSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { session as proto } from '@redbear/protocol';
import { specProblem } from './spec-check.js';

/**
 * redbear-session-launch: started by redbear-sessiond as root with a JSON spec on stdin.
 * Creates XDG_RUNTIME_DIR, drops privileges in-process (setgroups from the root's /etc/group,
 * setgid, setuid, verified), then runs `dbus-run-session -- <command>` with an explicit
 * environment, its output in the per-session log, and exits with the command's code.
 *
 * The drop happens in this process because `child_process.spawn({uid, gid})` calls
 * setgroups(0, NULL) and loses every supplementary group.
 */
export type Spec = proto.SessionLaunchSpec;

export class LaunchError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'LaunchError';
  }
}

export function parseSpec(text: string): Spec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LaunchError('the spec on stdin is not JSON', 64);
  }
  const where = specProblem(value);
  if (where !== null) throw new LaunchError(`bad spec: invalid field ${where}`, 64);
  return value as Spec;
}

/** Supplementary groups of `username` from a group(5) file, with the primary gid first. */
export function groupsFor(groupFileText: string, username: string, primaryGid: number): number[] {
  const out = [primaryGid];
  for (const line of groupFileText.split('\n')) {
    const f = line.split(':');
    if (f.length < 4) continue;
    const gid = Number(f[2]);
    const members = (f[3] ?? '').split(',').map((m) => m.trim());
    if (Number.isInteger(gid) && gid >= 0 && members.includes(username) && !out.includes(gid)) out.push(gid);
  }
  return out;
}

/** Exactly the seed's list (GREETER-LOGIN-IMPLEMENTATION-PLAN §9.5) plus XDG_SESSION_CLASS. */
export function sessionEnv(spec: Spec): Record<string, string> {
  return {
    HOME: spec.home,
    USER: spec.username,
    LOGNAME: spec.username,
    SHELL: spec.shell,
    PATH: '/usr/bin:/bin',
    XDG_RUNTIME_DIR: spec.runtime_dir,
    XDG_SESSION_TYPE: 'wayland',
    XDG_CURRENT_DESKTOP: 'KDE',
    XDG_SESSION_ID: spec.sid,
    XDG_SESSION_CLASS: 'user',
    KDE_FULL_SESSION: 'true',
    WAYLAND_DISPLAY: 'wayland-0',
    XDG_SEAT: spec.seat,
    XDG_VTNR: String(spec.vt),
    LIBSEAT_BACKEND: 'seatd',
    SEATD_SOCK: '/run/seatd.sock',
  };
}

/** /run/user/<uid>: a real directory (never a symlink), 0700, owned by the user. */
export function makeRuntimeDir(dir: string, uid: number, gid: number): void {
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink()) throw new LaunchError(`${dir} is not a directory`);
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
}

/** setgroups → setgid → setuid, then prove that root cannot be regained. */
export function dropPrivileges(uid: number, gid: number, groups: number[]): void {
  if (uid === 0) throw new LaunchError('refusing to start a session as root');
  const { setgroups, setgid, setuid } = process;
  if (!setgroups || !setgid || !setuid) throw new LaunchError('this platform cannot change credentials');
  setgroups.call(process, groups);
  setgid.call(process, gid);
  setuid.call(process, uid);
  let regained = true;
  try {
    setuid.call(process, 0);
  } catch {
    regained = false;
  }
  if (regained) throw new LaunchError('setuid(0) succeeded after dropping privileges');
  if (process.getuid?.() !== uid || process.geteuid?.() !== uid || process.getgid?.() !== gid || process.getegid?.() !== gid) {
    throw new LaunchError('credentials are not what was asked for after the drop');
  }
  const got = [...(process.getgroups?.() ?? [])].sort((a, b) => a - b);
  const want = [...groups].sort((a, b) => a - b);
  if (got.join(',') !== want.join(',')) throw new LaunchError(`supplementary groups are ${got.join(',')}, expected ${want.join(',')}`);
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The argv to run: the validation session or the configured command, under dbus-run-session when present. */
export function sessionArgv(spec: Spec, note: (line: string) => void): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const command = spec.validation ? [process.execPath, path.join(here, 'validation-session.js')] : spec.command;
  if (spec.validation) note('validation request present: running the bounded validation session instead of the session command');
  if (spec.dbus_run_session && executable(spec.dbus_run_session)) return [spec.dbus_run_session, '--', ...command];
  note(
    spec.dbus_run_session
      ? `dbus-run-session not found at ${spec.dbus_run_session}: running the session command directly (no session bus)`
      : 'dbus-run-session disabled: running the session command directly (no session bus)',
  );
  return command;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Run the whole launch. `status` is fd 3 from sessiond: one JSON line `{"started":pid}` or
 * `{"error":…}`. Returns the exit code for the process.
 */
export async function launch(spec: Spec, groupFileText: string, status: number | null): Promise<number> {
  /** Report to sessiond once; false when sessiond is gone (nobody will watch this session). */
  const say = (obj: Record<string, unknown>): boolean => {
    if (status === null) return true;
    let ok = true;
    try {
      writeSync(status, JSON.stringify(obj) + '\n');
    } catch {
      ok = false;
    }
    try {
      closeSync(status);
    } catch {
      // already closed
    }
    status = null;
    return ok;
  };
  mkdirSync(path.dirname(spec.log_file), { recursive: true, mode: 0o755 });
  const log = openSync(spec.log_file, 'a', 0o600);
  fchownSync(log, spec.uid, spec.gid);
  const note = (line: string) => {
    try {
      writeSync(log, `redbear-session-launch[${process.pid}] ${new Date().toISOString()} ${line}\n`);
    } catch {
      // log is best effort
    }
  };
  try {
    note(`session ${spec.sid} for ${spec.username} (uid ${spec.uid}) on VT ${spec.vt}`);
    makeRuntimeDir(spec.runtime_dir, spec.uid, spec.gid);
    dropPrivileges(spec.uid, spec.gid, groupsFor(groupFileText, spec.username, spec.gid));
    try {
      process.chdir(spec.home);
    } catch (e) {
      note(`cannot enter ${spec.home} (${(e as NodeJS.ErrnoException).code}): starting in /`);
      process.chdir('/');
    }
    process.umask(0o022);
  } catch (e) {
    const msg = (e as Error).message;
    note(`failed: ${msg}`);
    say({ error: msg });
    return e instanceof LaunchError ? e.exitCode : 1;
  }
  const argv = sessionArgv(spec, note);
  note(`running ${JSON.stringify(argv)}`);
  const child = spawn(argv[0]!, argv.slice(1), { env: sessionEnv(spec), cwd: process.cwd(), stdio: ['ignore', log, log] });
  const forward = (sig: NodeJS.Signals) => {
    note(`forwarding ${sig}`);
    child.kill(sig);
  };
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(sig, () => forward(sig));
  let timer: NodeJS.Timeout | undefined;
  const result = await new Promise<number>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      note(`cannot start the session command: ${e.code ?? e.message}`);
      say({ error: `cannot start the session command: ${e.code ?? e.message}` });
      resolve(127);
    });
    child.once('spawn', () => {
      if (!say({ started: process.pid, child: child.pid })) {
        note('sessiond went away while the session was opening: ending it');
        child.kill('SIGKILL');
        return;
      }
      if (spec.validation) {
        timer = setTimeout(() => {
          note(`validation session still running after ${spec.validation_timeout_ms} ms: killing it`);
          child.kill('SIGKILL');
        }, spec.validation_timeout_ms);
      }
    });
    child.once('exit', (code, signal) => {
      note(`session command exited (${code ?? signal})`);
      resolve(code ?? 128 + (signal ? (SIGNALS[signal] ?? 1) : 1));
    });
  });
  clearTimeout(timer);
  closeSync(log);
  return result;
}
