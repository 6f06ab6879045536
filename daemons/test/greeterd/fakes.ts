import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProtocolError, type SessionRecordWire } from '../../../protocol/src/common/index.js';
import { ProtocolServer } from '../../../protocol/src/node/index.js';
import { makeRoot, startDaemon, REPO, type TestRoot } from '../../../test/harness/index.js';

/**
 * Small in-test stand-ins for redbear-authd and redbear-sessiond that speak the real auth and
 * session v2 messages (validated by ProtocolServer both ways), so greeterd's orchestration can
 * be tested while those daemons are being written, and killed/restarted at will.
 */
export interface FakeUser {
  password: string;
  uid: number;
  pin?: string;
  full_name?: string;
}

export interface Approval {
  uid: number;
  username: string;
  purpose: string;
  session_id?: string;
}

export class FakeAuthd {
  server: ProtocolServer | null = null;
  readonly users = new Map<string, FakeUser>();
  readonly approvals = new Map<string, Approval>();
  readonly calls: Array<Record<string, unknown>> = [];
  readonly power: string[] = [];
  rateLimitMs = 0;
  /** Delay before answering authenticate (to kill authd mid-login). */
  authDelayMs = 0;
  constructor(readonly socketPath: string) {}

  async start(): Promise<void> {
    this.server = new ProtocolServer({
      iface: 'auth',
      socketPath: this.socketPath,
      serverName: 'fake-authd',
      handler: async (m) => {
        const { password: _p, pin: _n, old_password: _o, new_password: _w, ...safe } = m as Record<string, unknown>;
        this.calls.push(safe);
        switch (m.type) {
          case 'first_boot_status':
            return { type: 'first_boot_status_result', first_boot: this.users.size === 0 };
          case 'authenticate':
          case 'authenticate_pin': {
            if (this.authDelayMs) await new Promise((r) => setTimeout(r, this.authDelayMs));
            if (this.rateLimitMs) throw new ProtocolError('rate_limited', 'slow down', { retry_after_ms: this.rateLimitMs });
            const u = this.users.get(String(m.username));
            const ok = u && (m.type === 'authenticate' ? u.password === m.password : u.pin !== undefined && u.pin === m.pin);
            if (!u || !ok) throw new ProtocolError('auth_failed', 'authentication failed');
            const approval = randomBytes(16).toString('hex');
            this.approvals.set(approval, { uid: u.uid, username: String(m.username), purpose: String(m.purpose), ...(m.session_id ? { session_id: String(m.session_id) } : {}) });
            return { type: 'authenticate_result', uid: u.uid, username: String(m.username), approval, expires_in_ms: 5_000 };
          }
          case 'list_users':
            return {
              type: 'list_users_result',
              users: [...this.users].map(([username, u]) => ({ username, full_name: u.full_name ?? username, uid: u.uid, has_pin: u.pin !== undefined, locked: false, has_avatar: false })),
            };
          case 'get_avatar':
            throw new ProtocolError('not_found', 'no picture');
          case 'create_first_user': {
            if (this.users.size > 0) throw new ProtocolError('not_first_boot', 'a user exists');
            this.users.set(String(m.username), { password: String(m.password), uid: 1000, full_name: String(m.full_name) });
            this.server?.broadcast('users_changed', {});
            return { type: 'create_user_result', uid: 1000, username: String(m.username), recovery_key: 'RBRK-AAAA-BBBB-CCCC', strength: { score: 3 } };
          }
          case 'change_password': {
            const u = this.users.get(String(m.username));
            if (!u || u.password !== m.old_password) throw new ProtocolError('auth_failed', 'authentication failed');
            u.password = String(m.new_password);
            return { type: 'ok' };
          }
          case 'power_action':
            this.power.push(String(m.action));
            return { type: 'power_result', ok: true, message: `${String(m.action)} requested` };
        }
        throw new ProtocolError('unknown_type', 'not faked');
      },
    });
    await this.server.listen();
  }

  /** sessiond's side of an approval: single use, purpose-bound. */
  consume(approval: string, purpose: string): Approval {
    const a = this.approvals.get(approval);
    this.approvals.delete(approval);
    if (!a || a.purpose !== purpose) throw new ProtocolError('approval_invalid', 'approval is not valid');
    return a;
  }

  async stop(): Promise<void> {
    await this.server?.close(50);
    this.server = null;
  }
}

export type FakeSession = SessionRecordWire;

export class FakeSessiond {
  server: ProtocolServer | null = null;
  readonly sessions = new Map<string, FakeSession>();
  readonly calls: Array<Record<string, unknown>> = [];
  createDelayMs = 0;
  private n = 0;
  constructor(
    readonly socketPath: string,
    readonly authd: FakeAuthd,
    readonly root: string,
  ) {}

  async start(): Promise<void> {
    this.server = new ProtocolServer({
      iface: 'session',
      socketPath: this.socketPath,
      serverName: 'fake-sessiond',
      helloExtra: () => ({ seat: 'seat0', read_only: false }),
      handler: async (m) => {
        const { approval: _a, ...safe } = m as Record<string, unknown>;
        this.calls.push(safe);
        switch (m.type) {
          case 'list_sessions':
            return { type: 'sessions_result', sessions: [...this.sessions.values()].filter((s) => s.state !== 'closed') };
          case 'create_session': {
            if (this.createDelayMs) await new Promise((r) => setTimeout(r, this.createDelayMs));
            const a = this.authd.consume(String(m.approval), 'login');
            const now = Date.now();
            const s: FakeSession = {
              sid: `s${++this.n}`, uid: a.uid, username: a.username, vt: Number(m.vt), seat: 'seat0', state: 'active', leader_pid: 4242,
              home_uri: `state:/secure/home/${a.uid}/`, home_mount: null, home_persistent: false, created_at_ms: now, updated_at_ms: now, locked_at_ms: null,
            };
            this.sessions.set(s.sid, s);
            this.server?.broadcast('session', { session: { ...s } });
            const req = path.join(this.root, 'run/redbear-kde-session.validation-request');
            if (existsSync(req)) {
              // The validation-only session: prove the launch, write the success marker, exit.
              rmSync(req, { force: true });
              writeFileSync(path.join(this.root, 'run/redbear-kde-session.validation-success'), `uid=${a.uid}\n`);
              setTimeout(() => this.end(s.sid, 'exited'), 100);
            }
            return { type: 'session_result', session: { ...s } };
          }
          case 'unlock':
          case 'activate': {
            const s = this.sessions.get(String(m.sid));
            if (!s || s.state !== 'locked') throw new ProtocolError('invalid_state', 'not locked');
            const a = this.authd.consume(String(m.approval), 'unlock');
            if (a.uid !== s.uid) throw new ProtocolError('approval_invalid', 'wrong user');
            s.state = 'active';
            s.locked_at_ms = null;
            this.server?.broadcast('session', { session: { ...s } });
            return { type: 'session_result', session: { ...s } };
          }
        }
        throw new ProtocolError('unknown_type', 'not faked');
      },
    });
    await this.server.listen();
  }

  lock(sid: string): void {
    const s = this.sessions.get(sid)!;
    s.state = 'locked';
    s.locked_at_ms = Date.now();
    this.server?.broadcast('lock', { session: { ...s } });
  }

  end(sid: string, reason: 'exited' | 'logout' | 'crashed' = 'logout'): void {
    const s = this.sessions.get(sid);
    if (!s) return;
    s.state = 'closed';
    this.server?.broadcast('session_ended', { sid, uid: s.uid, username: s.username, vt: s.vt, exit_code: 0, reason });
  }

  async stop(): Promise<void> {
    await this.server?.close(50);
    this.server = null;
  }
}

export const FIXTURES = path.join(REPO, 'daemons/test/greeterd/fixtures');

export interface Stack {
  root: TestRoot;
  rec: string;
  authd: FakeAuthd;
  sessiond: FakeSessiond;
  greeterd: Awaited<ReturnType<typeof startDaemon>>;
  uiLog(): string[];
  cmdLog(): string[];
  log(): string;
  stop(): Promise<void>;
}

export interface StackOptions {
  users?: Record<string, FakeUser>;
  ui?: 'stay' | 'crash' | 'crash-once';
  /** Extra TOML appended to the greeterd config. */
  extraConfig?: string;
  fakes?: boolean;
  restartMax?: number;
}

/** A root with fake authd/sessiond and the real (built) greeterd with a recording UI. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const root = await makeRoot();
  const rec = path.join(root.dir, 'rec');
  mkdirSync(rec);
  chmodSync(rec, 0o777);
  const authd = new FakeAuthd(root.path('/run/redbear-authd.sock'));
  for (const [name, u] of Object.entries(opts.users ?? {})) authd.users.set(name, u);
  const sessiond = new FakeSessiond(root.path('/run/redbear-sessiond.sock'), authd, root.dir);
  if (opts.fakes !== false) {
    await authd.start();
    await sessiond.start();
  }
  const node = JSON.stringify(process.execPath);
  const cmd = (tag: string, ...args: string[]) => `[${[node, JSON.stringify(path.join(FIXTURES, 'record-cmd.mjs')), JSON.stringify(path.join(rec, 'cmds.log')), JSON.stringify(tag), ...args.map((a) => JSON.stringify(a))].join(', ')}]`;
  const config = `
markers = true
[ui]
command = [${node}, ${JSON.stringify(path.join(FIXTURES, 'ui-recorder.mjs'))}, ${JSON.stringify(rec)}, ${JSON.stringify(opts.ui ?? 'stay')}]
restart_max = ${opts.restartMax ?? 3}
restart_window_ms = 60000
restart_delay_ms = 50
stop_timeout_ms = 1000
[commands]
activate_vt = ${cmd('activate', '{vt}')}
console_fallback = ${cmd('console', '2')}
[authd]
timeout_ms = 1000
auth_timeout_ms = 3000
[sessiond]
timeout_ms = 1000
launch_timeout_ms = 3000
${opts.extraConfig ?? ''}
`;
  const logFile = path.join(root.dir, 'greeterd.log');
  const greeterd = await startDaemon('greeterd', { root: root.dir, config, extraArgs: ['--log-file', logFile] });
  const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
  return {
    root,
    rec,
    authd,
    sessiond,
    greeterd,
    uiLog: () => lines(path.join(rec, 'ui.log')),
    cmdLog: () => lines(path.join(rec, 'cmds.log')),
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      await greeterd.stop(3_000);
      await sessiond.stop();
      await authd.stop();
      root.cleanup();
    },
  };
}

/** Poll until fn returns a truthy value (or fail after timeoutMs). */
export async function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 8_000): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
