import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, FAST_KEYSTORED_TOML, makeRoot, startDaemon, type TestRoot, type TestUser } from '../../../test/harness/index.js';
import type { ProtocolClient } from '../../../protocol/src/node/index.js';
import type { Message } from '../../../protocol/src/common/index.js';
import { startFakeAuthd } from './fake-authd.js';

/**
 * The real stack for sessiond tests: keystored → authd → sessiond in one temporary root, with a
 * recording session command and a recording VT switch command.
 */
export const USERS: TestUser[] = [
  { name: 'alice', password: 'alice-Secret-42', groups: ['video', 'audio', 'input'], fullName: 'Alice A' },
  { name: 'bob', password: 'bob-Secret-42', groups: ['render'] },
];
export const PW: Record<string, string> = Object.fromEntries(USERS.map((u) => [u.name, u.password]));

const KEYSTORED_TOML = FAST_KEYSTORED_TOML;
const AUTHD_TOML = `
[hashing]
sha512_rounds = 5000
[throttle]
failure_delay_ms = 20
[pin]
memory_kib = 1024
time_cost = 1
`;

/** Records credentials, env (/proc/$$/environ), cwd, umask and the runtime dir, then idles. */
export const RECORD_SCRIPT = `#!/bin/sh
out="$HOME/session-record"
{
  echo "uid=$(id -u)"
  echo "gid=$(id -g)"
  echo "groups=$(id -G)"
  echo "cwd=$(pwd)"
  echo "umask=$(umask)"
  echo "rundir=$(stat -c '%a %u' "$XDG_RUNTIME_DIR")"
  echo "pid=$$"
} > "$out.tmp"
tr '\\0' '\\n' < /proc/$$/environ > "$out.env"
mv "$out.tmp" "$out"
trap 'exit 0' TERM
sleep 600 &
wait
`;

export interface StackOptions {
  sessiondToml?: string;
  /** dbus-run-session path ('' = run the command directly). */
  dbus?: string;
  users?: TestUser[];
  /** [session] launcher argv (default: the bundled one). */
  launcher?: string[];
  /** [lock] idle_timeout_s (default 0 = off). */
  idleS?: number;
  /** Appended to authd's config (tables not in the base: [keystore], [accounts], …). */
  authdToml?: string;
}

export interface Stack {
  root: TestRoot;
  authdKind: 'real' | 'fake';
  sessionSock: string;
  querySock: string;
  vtLog: string;
  sessiondLogs(): string;
  approve(user: string, vt: number, purpose?: 'login' | 'unlock', password?: string): Promise<string>;
  client(): Promise<ProtocolClient>;
  query(): Promise<ProtocolClient>;
  restartSessiond(kill?: boolean): Promise<void>;
  killSessiond(): Promise<void>;
  startSessiond(): Promise<void>;
  sessiondPid(): number;
  cleanup(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const root = await makeRoot(opts.users ?? USERS);
  const script = path.join(root.dir, 'session.sh');
  writeFileSync(script, RECORD_SCRIPT);
  chmodSync(script, 0o755);
  const vtLog = path.join(root.dir, 'vt.log');
  const chvt = path.join(root.dir, 'chvt.sh');
  writeFileSync(chvt, `#!/bin/sh\necho "$1" >> ${vtLog}\n`);
  chmodSync(chvt, 0o755);
  const sessiondToml = `
[session]
command = ["${script}"]
dbus_run_session = "${opts.dbus ?? ''}"
start_timeout_ms = 10000
logout_grace_ms = 2000
leader_poll_ms = 50
launcher = ${JSON.stringify(opts.launcher ?? [])}
[lock]
idle_timeout_s = ${opts.idleS ?? 0}
[vt]
switch_command = ["${chvt}", "{vt}"]
${opts.sessiondToml ?? ''}`;
  const keystored = await startDaemon('keystored', { root: root.dir, config: KEYSTORED_TOML });
  let authd: { socket: string; stop(): Promise<unknown> };
  let authdKind: 'real' | 'fake' = 'real';
  try {
    if (process.env.REDBEAR_TEST_FAKE_AUTHD === '1') throw new Error('fake authd requested');
    authd = await startDaemon('authd', { root: root.dir, config: AUTHD_TOML + (opts.authdToml ?? '') });
  } catch (e) {
    // Only while the real authd cannot start (it is being written): a fake over the real keystored.
    console.warn(`sessiond tests: using the fake authd (${(e as Error).message.split('\n')[0]})`);
    const fake = await startFakeAuthd(root.dir, Object.fromEntries((opts.users ?? USERS).map((u) => [u.name, u.password])));
    authd = { socket: fake.socket, stop: () => fake.close() };
    authdKind = 'fake';
  }
  let sessiond: Awaited<ReturnType<typeof startDaemon>> | null = null;
  let previous = '';
  const logFile = path.join(root.dir, 'sessiond.log');
  const start = async () => {
    sessiond = await startDaemon('sessiond', { root: root.dir, config: sessiondToml, extraArgs: ['--log-file', logFile] });
  };
  await start();
  const sessionSock = path.join(root.dir, 'run/redbear-sessiond.sock');
  const stack: Stack = {
    root,
    authdKind,
    sessionSock,
    querySock: path.join(root.dir, 'run/redbear-sessiond-query.sock'),
    vtLog,
    sessiondLogs: () => previous + (sessiond ? sessiond.stdout() + sessiond.stderr() : ''),
    async approve(user, vt, purpose = 'login', password = PW[user]!) {
      const c = await connect('auth', authd.socket);
      try {
        const r = await c.request({ type: 'authenticate', username: user, password, vt, purpose }, 20_000);
        return r.approval as string;
      } finally {
        c.close();
      }
    },
    client: () => connect('session', sessionSock),
    query: () => connect('session', stack.querySock),
    async killSessiond() {
      if (!sessiond) return;
      sessiond.child.kill('SIGKILL');
      await sessiond.exited;
      previous += sessiond.stdout() + sessiond.stderr();
      sessiond = null;
    },
    startSessiond: start,
    async restartSessiond(kill = true) {
      if (kill) await stack.killSessiond();
      else if (sessiond) {
        await sessiond.stop();
        previous += sessiond.stdout() + sessiond.stderr();
      }
      await start();
    },
    sessiondPid: () => sessiond?.child.pid ?? -1,
    async cleanup() {
      const pids = leaderPids(root.dir);
      await sessiond?.stop();
      for (const pid of pids) killGroup(pid);
      await authd.stop();
      await keystored.stop();
      root.cleanup();
    },
  };
  return stack;
}

/** Leader pids in sessiond's state file (to kill what a test left running). */
export function leaderPids(rootDir: string): number[] {
  try {
    const st = JSON.parse(readFileSync(path.join(rootDir, 'run/redbear-sessiond/sessions.json'), 'utf8')) as { sessions: Array<{ leader_pid: number | null }> };
    return st.sessions.map((s) => s.leader_pid).filter((p): p is number => typeof p === 'number');
  } catch {
    return [];
  }
}

export function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Collect events of a subscribed client. */
export function collect(c: ProtocolClient): Message[] {
  const out: Message[] = [];
  c.on('event', (e: Message) => out.push(e));
  return out;
}

export function readRecord(home: string): Record<string, string> | null {
  const f = path.join(home, 'session-record');
  if (!existsSync(f)) return null;
  return Object.fromEntries(
    readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

export function readEnv(home: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path.join(home, 'session-record.env'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

export function uidOf(rootDir: string, user: string): number {
  const line = readFileSync(path.join(rootDir, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  return Number(line!.split(':')[2]);
}

export function gidOfGroup(rootDir: string, group: string): number {
  const line = readFileSync(path.join(rootDir, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith(`${group}:`));
  return Number(line!.split(':')[2]);
}

/**
 * Whether the keystore session sessiond holds for `sid` can still get home keys. The domain's
 * own "unlocked" flag can stay true for up to a grant's lifetime after any authenticate call,
 * so lock tests ask for a key with the session's token instead.
 */
export async function keysUsable(rootDir: string, ks: { indexKey(token: string): Promise<Buffer> }, sid: string): Promise<boolean> {
  const st = JSON.parse(readFileSync(path.join(rootDir, 'run/redbear-sessiond/sessions.json'), 'utf8')) as { sessions: Array<{ sid: string; keystore_token: string | null }> };
  const token = st.sessions.find((s) => s.sid === sid)?.keystore_token;
  if (!token) return false;
  return ks.indexKey(token).then(
    () => true,
    () => false,
  );
}
