import { ProtocolError, type ErrorCode, type GreeterState, type greeter, type ui } from '@redbear/protocol';
import type { Message } from '@redbear/protocol';
import type { Logger } from '../runtime/index.js';
import type { GreeterdConfig } from './config.js';
import { GreeterMachine, type GreeterAction } from './state-machine.js';
import { ContinueTokens, runCommand } from './system.js';
import type { UiMode, UiProcess } from './ui-process.js';

/** What the orchestrator needs from a downstream daemon (a ReconnectingClient in production). */
export interface DownstreamPort {
  readonly connected: boolean;
  request(msg: Record<string, unknown> & { type: string }, timeoutMs?: number): Promise<Message>;
  on(event: 'event', fn: (e: Message) => void): unknown;
  on(event: 'connected' | 'disconnected', fn: () => void): unknown;
}

export interface SessionRecordLike {
  sid: string;
  uid: number;
  username: string;
  vt: number;
  state: string;
  locked_at_ms: number | null;
}

export interface LockedSessionWire {
  session_id: string;
  username: string;
  full_name: string;
  uid: number;
  locked_at_ms: number;
  has_pin: boolean;
}

export type LoginOutcome =
  | { ok: true; uid: number; state: GreeterState; message: string }
  | { ok: false; code: ErrorCode; state: GreeterState; message: string; retry_after_ms?: number };

export interface OrchestratorDeps {
  config: GreeterdConfig;
  log: Logger;
  auth: DownstreamPort;
  session: DownstreamPort;
  ui: UiProcess;
  /** Push an event to subscribed UI connections. */
  broadcast(event: string, payload: Record<string, unknown>): void;
  /** One line on stdout (markers, the fatal notice). */
  stdout(line: string): void;
  now?: () => number;
}

/** A user as greeterd lists it: authd's summary plus the user's open session per sessiond. */
export type UserWire = greeter.GreeterUserWire;

/**
 * Mark each user with their open session (`locked` or `active`; sessions still opening or
 * closing are not offered). Matched by uid, as sessiond records it.
 */
export function withSessions(users: readonly UserWire[], sessions: readonly Pick<SessionRecordLike, 'uid' | 'state'>[]): UserWire[] {
  const byUid = new Map<number, ui.UserSessionState>();
  for (const s of sessions) {
    if (s.state === 'active') byUid.set(s.uid, 'active');
    else if (s.state === 'locked' && !byUid.has(s.uid)) byUid.set(s.uid, 'locked');
  }
  return users.map((u) => {
    const { session: _stale, ...rest } = u;
    const st = byUid.get(u.uid);
    return st ? { ...rest, session: st } : rest;
  });
}

export const MSG = {
  loginFailed: 'Login failed',
  authUnavailable: 'Authentication service unavailable',
  sessionUnavailable: 'Session service unavailable',
  launchFailed: 'The session could not be started',
  busy: 'Another request is in progress',
  shutdownNoEffect: 'The shutdown did not take effect; the computer is still running',
  rebootNoEffect: 'The restart did not take effect; the computer is still running',
} as const;

/** Messages shown for authd's refusals; authd's own text never reaches the UI unfiltered. */
const AUTH_MESSAGES: Partial<Record<ErrorCode, string>> = {
  account_locked: 'This account is locked',
  account_disabled: 'This account is disabled',
  account_expired: 'This account has expired',
  password_expired: 'The password has expired and must be changed',
  password_change_required: 'The password must be changed',
  no_password: 'This account has no password',
};

const UI_DOWN: ReadonlySet<GreeterState> = new Set(['starting', 'launching_session', 'session_running', 'fatal_error']);

/**
 * The effects of greeterd: drives the state machine from UI requests and authd/sessiond
 * events, keeps the UI process in step with the state and prints the markers.
 */
export class Orchestrator {
  readonly machine = new GreeterMachine();
  readonly tokens: ContinueTokens;
  /** Locked sessions by sid (from sessiond's lock events). */
  readonly locked = new Map<string, SessionRecordLike>();
  /** The session whose lock screen shows (state locked). */
  lockShown: string | null = null;
  activeSid: string | null = null;
  private endedEarly = new Set<string>();
  private authUnknown = false;
  private userCache = new Map<string, { full_name: string; has_pin: boolean }>();
  // markers
  private greeterShownGen = -1;
  private oobeMarked = false;
  private lockMarked = false;
  private loginMarker: { sid: string; uid: number } | null = null;
  private closed = false;
  /** Armed when authd reports a successful power command (power_settle_timeout_ms). */
  private powerSettle: NodeJS.Timeout | null = null;

  constructor(private readonly d: OrchestratorDeps) {
    this.tokens = new ContinueTokens(d.config.first_boot.continue_token_ttl_ms);
    d.auth.on('event', (e) => this.onAuthEvent(e));
    d.auth.on('connected', () => void this.onAuthConnected());
    d.session.on('event', (e) => void this.onSessionEvent(e));
    d.session.on('connected', () => void this.resyncSessions());
  }

  get state(): GreeterState {
    return this.machine.state;
  }

  get message(): string {
    return this.machine.message;
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  // ---------- state and UI ----------

  private go(action: GreeterAction, message = '', reason?: ui.StateReason): GreeterState {
    const from = this.machine.state;
    const to = this.machine.apply(action, message);
    this.d.log.info('state', { from, to, action, ...(message ? { message } : {}), ...(reason ? { reason } : {}) });
    if (to === 'first_boot' && from !== 'first_boot') this.oobeMarked = false;
    if (to === 'locked' && from !== 'locked') this.lockMarked = false;
    if (from === 'power_action' && to !== 'power_action') this.clearPowerSettle();
    this.d.broadcast('state', { state: to, message, ...(reason ? { reason } : {}) });
    return to;
  }

  private modeFor(s: GreeterState): UiMode {
    if (s === 'first_boot') return 'oobe';
    if (s === 'locked') return 'lock';
    if (s === 'greeter_ready') return 'greeter';
    return this.d.ui.currentMode;
  }

  /** Keep the UI in step: down in launching_session/session_running/fatal_error, up on the screens. */
  private async syncUi(): Promise<void> {
    const s = this.machine.state;
    if (this.closed) return;
    if (UI_DOWN.has(s)) {
      await this.d.ui.stop();
      return;
    }
    if (s === 'returning_to_greeter') return;
    this.d.ui.ensure(this.modeFor(s));
  }

  /** The UI process started (also after a restart): bring its VT to the front. */
  onUiStart(): void {
    void runCommand(this.expand(this.d.config.commands.activate_vt), this.d.config.commands.timeout_ms, this.d.log, 'activate greeter VT');
  }

  /** The UI died more often than the policy allows: fatal_error and the text console. */
  onUiGiveUp(deaths: number): void {
    const windowS = Math.round(this.d.config.ui.restart_window_ms / 1000);
    this.fatal(`the greeter UI failed ${deaths} times within ${windowS} s`);
  }

  /** fatal_error: say so on stdout and in the log, and bring up the text console (never a dead end). */
  fatal(why: string): void {
    const argv = this.d.config.commands.console_fallback;
    this.d.stdout(`redbear-greeterd: fatal_error: ${why}; switching to the text console${argv.length ? ` (${argv.join(' ')})` : ''}`);
    this.d.log.error('fatal_error: text console activated', { why, console: [...argv] });
    if (this.machine.can('fatal')) this.go('fatal', 'The greeter could not be started; use the text console');
    void this.d.ui.stop();
    void runCommand(this.expand(argv), this.d.config.commands.timeout_ms, this.d.log, 'activate text console');
  }

  expand(argv: readonly string[]): string[] {
    return argv.map((a) => a.replace(/\{vt\}/g, String(this.d.config.vt)));
  }

  private marker(line: string): void {
    this.d.log.info('marker', { marker: line });
    if (this.d.config.markers) this.d.stdout(line);
  }

  // ---------- startup ----------

  /** Decide the first state from authd and sessiond (bounded by their timeouts). */
  async start(waitMs: number): Promise<void> {
    const wait = (p: DownstreamPort) =>
      new Promise<void>((resolve) => {
        if (p.connected) return resolve();
        const t = setTimeout(resolve, waitMs);
        p.on('connected', () => {
          clearTimeout(t);
          resolve();
        });
      });
    await Promise.all([wait(this.d.auth), wait(this.d.session)]);
    if (this.machine.state !== 'starting') return;
    const sessions = await this.listSessions();
    const active = sessions.find((s) => s.state === 'active');
    for (const s of sessions) if (s.state === 'locked') this.locked.set(s.sid, s);
    if (active) {
      this.activeSid = active.sid;
      this.go('adopt');
      await this.syncUi();
      return;
    }
    const lockedOne = this.newestLocked();
    if (lockedOne) {
      await this.showLock(lockedOne);
      return;
    }
    await this.toScreens();
  }

  /** From starting/returning_to_greeter to greeter_ready or first_boot. */
  private async toScreens(): Promise<void> {
    const firstBoot = await this.firstBoot();
    if (this.machine.state !== 'starting' && this.machine.state !== 'returning_to_greeter') return;
    if (firstBoot === null) this.go('ready', MSG.authUnavailable);
    else this.go(firstBoot ? 'no_users' : 'ready');
    await this.syncUi();
  }

  private async firstBoot(): Promise<boolean | null> {
    try {
      const r = await this.d.auth.request({ type: 'first_boot_status' }, this.d.config.authd.timeout_ms);
      this.authUnknown = false;
      return r.first_boot === true;
    } catch (e) {
      this.authUnknown = true;
      this.d.log.warn('authd did not answer first_boot_status', { error: e as Error });
      return null;
    }
  }

  private async listSessions(): Promise<SessionRecordLike[]> {
    try {
      const r = await this.d.session.request({ type: 'list_sessions' }, this.d.config.sessiond.timeout_ms);
      return (r.sessions as SessionRecordLike[]).filter((s) => s.state !== 'closed' && s.state !== 'closing');
    } catch (e) {
      this.d.log.warn('sessiond did not answer list_sessions', { error: e as Error });
      return [];
    }
  }

  /**
   * The VT for a new session: the greeter's own, unless an open session (e.g. a locked one left
   * behind by "Switch user") holds it; then the first free VT after it. sessiond refuses two
   * sessions on one VT (`conflict`).
   */
  private async newSessionVt(): Promise<number> {
    const used = new Set<number>([...this.locked.values()].map((s) => s.vt));
    for (const s of await this.listSessions()) used.add(s.vt);
    let vt = this.d.config.vt;
    while (used.has(vt) && vt < 63) vt++;
    return vt;
  }

  private newestLocked(): SessionRecordLike | undefined {
    return [...this.locked.values()].sort((a, b) => (b.locked_at_ms ?? 0) - (a.locked_at_ms ?? 0))[0];
  }

  private async onAuthConnected(): Promise<void> {
    if (this.closed) return;
    // authd came back: drop "unavailable" and find out whether this is a first boot after all.
    if (this.machine.state === 'greeter_ready' && (this.authUnknown || this.machine.message === MSG.authUnavailable)) {
      const fb = await this.firstBoot();
      if (this.machine.state !== 'greeter_ready') return;
      if (fb === true) {
        this.go('no_users');
        await this.syncUi();
      } else if (fb === false && this.machine.message === MSG.authUnavailable) {
        this.machine.message = '';
        this.d.broadcast('state', { state: this.machine.state, message: '' });
      }
    }
  }

  private onAuthEvent(e: Message): void {
    if (e.event === 'users_changed') {
      this.userCache.clear();
      this.d.broadcast('users_changed', {});
    }
  }

  // ---------- sessions ----------

  private async onSessionEvent(e: Message): Promise<void> {
    if (this.closed) return;
    if (e.event === 'lock') {
      const s = e.session as SessionRecordLike;
      this.locked.set(s.sid, s);
      if (this.activeSid === s.sid) this.activeSid = null;
      if (this.machine.state === 'session_running') await this.showLock(s);
      return;
    }
    if (e.event === 'session') {
      const s = e.session as SessionRecordLike;
      if (s.state === 'active') {
        this.maybeLoginMarker(s.sid);
        if (this.locked.delete(s.sid)) this.d.broadcast('unlock', { session_id: s.sid });
        // Unlocked or activated by someone else (nx-session): the UI goes away.
        if ((this.machine.state === 'locked' && this.lockShown === s.sid) || this.machine.state === 'greeter_ready') {
          this.activeSid = s.sid;
          this.lockShown = null;
          this.go('adopt');
          await this.syncUi();
        }
      } else if (s.state === 'locked') {
        this.locked.set(s.sid, s);
      }
      return;
    }
    if (e.event === 'session_ended') await this.sessionEnded(String(e.sid), String(e.reason));
  }

  private async sessionEnded(sid: string, reason: string): Promise<void> {
    const wasLocked = this.locked.delete(sid);
    if (wasLocked) this.d.broadcast('unlock', { session_id: sid });
    if (this.loginMarker?.sid === sid) this.loginMarker = null;
    const st = this.machine.state;
    if (st === 'launching_session') {
      this.endedEarly.add(sid);
      return;
    }
    const ours = this.activeSid === sid || (st === 'locked' && this.lockShown === sid);
    if (!ours) return;
    this.d.log.info('session ended', { sid, reason });
    this.activeSid = null;
    if (this.lockShown === sid) this.lockShown = null;
    if (this.machine.can('session_ended')) {
      this.go('session_ended');
      await this.returnToGreeter();
    }
  }

  /** Back to the user list (sessions that stay locked show there; logging in as their user unlocks them). */
  private async returnToGreeter(): Promise<void> {
    await this.toScreens();
  }

  private async resyncSessions(): Promise<void> {
    if (this.closed || this.machine.state === 'starting') return;
    const sessions = await this.listSessions();
    const open = new Set(sessions.map((s) => s.sid));
    for (const sid of [...this.locked.keys()]) if (!open.has(sid)) await this.sessionEnded(sid, 'lost');
    if (this.activeSid && !open.has(this.activeSid) && this.machine.state === 'session_running') await this.sessionEnded(this.activeSid, 'lost');
  }

  private async showLock(s: SessionRecordLike): Promise<void> {
    if (!this.machine.can('lock')) return;
    this.lockShown = s.sid;
    this.go('lock');
    await this.syncUi();
    this.d.broadcast('lock', { session: await this.lockedWire(s) });
  }

  async lockedWire(s: SessionRecordLike): Promise<LockedSessionWire> {
    const u = await this.userInfo(s.username);
    return {
      session_id: s.sid,
      username: s.username,
      full_name: u?.full_name ?? s.username,
      uid: s.uid,
      locked_at_ms: s.locked_at_ms ?? this.now(),
      has_pin: u?.has_pin ?? false,
    };
  }

  private async userInfo(username: string): Promise<{ full_name: string; has_pin: boolean } | undefined> {
    if (!this.userCache.has(username)) {
      try {
        const r = await this.d.auth.request({ type: 'list_users' }, Math.min(2_000, this.d.config.authd.timeout_ms));
        for (const u of r.users as Array<{ username: string; full_name: string; has_pin: boolean }>) {
          this.userCache.set(u.username, { full_name: u.full_name, has_pin: u.has_pin });
        }
      } catch {
        return undefined;
      }
    }
    return this.userCache.get(username);
  }

  /** The lock screen's session (hello_ok.lock). */
  async currentLock(): Promise<LockedSessionWire | undefined> {
    if (this.machine.state !== 'locked' || !this.lockShown) return undefined;
    const s = this.locked.get(this.lockShown);
    return s ? this.lockedWire(s) : undefined;
  }

  /**
   * The greeter's user list: authd's users, each marked with their open session from sessiond's
   * `list_sessions` (so a user picking from the list sees who has a locked session; logging in
   * as that user unlocks it). When sessiond does not answer, the locked sessions greeterd knows
   * from sessiond's events stand in.
   */
  async listUsers(): Promise<UserWire[]> {
    const r = await this.authRequest({ type: 'list_users' });
    let sessions: Array<Pick<SessionRecordLike, 'uid' | 'state'>>;
    try {
      const s = await this.d.session.request({ type: 'list_sessions' }, Math.min(2_000, this.d.config.sessiond.timeout_ms));
      sessions = s.sessions as SessionRecordLike[];
    } catch (e) {
      this.d.log.warn('sessiond did not answer list_sessions: user list from the lock events seen', { error: e as Error });
      sessions = [...this.locked.values()].map((x) => ({ uid: x.uid, state: 'locked' }));
    }
    return withSessions(r.users as UserWire[], sessions);
  }

  /** A plain request to authd (user list, avatar, password change) with its timeout. */
  async authRequest(msg: Record<string, unknown> & { type: string }, timeoutMs = this.d.config.authd.timeout_ms): Promise<Message> {
    try {
      return await this.d.auth.request(msg, timeoutMs);
    } catch (e) {
      if (e instanceof ProtocolError && (e.code === 'unavailable' || e.code === 'timeout')) throw new ProtocolError('unavailable', MSG.authUnavailable);
      throw e;
    }
  }

  // ---------- login ----------

  /**
   * Password or PIN login (also the unlock of a locked session of that user, and the first
   * session after setup): authd approves, the UI goes away, sessiond starts (or unlocks) the
   * session. Every failure returns to the screen the attempt came from.
   */
  async login(req: { username: string; secret: string; kind: 'password' | 'pin'; sessionId?: string }): Promise<LoginOutcome> {
    const m = this.machine;
    if (!m.can('submit')) return { ok: false, code: 'busy', state: m.state, message: m.state === 'fatal_error' ? m.message : MSG.busy };
    let target: SessionRecordLike | undefined;
    if (req.sessionId !== undefined) {
      target = this.locked.get(req.sessionId);
      if (!target) return { ok: false, code: 'not_found', state: m.state, message: 'No such locked session' };
    } else {
      target = [...this.locked.values()].find((s) => s.username === req.username);
    }
    const purpose = target ? 'unlock' : 'login';
    this.go('submit');
    // The approval is bound to the VT, so the new session's VT is chosen before authenticating.
    const vt = target?.vt ?? (await this.newSessionVt());
    const greeterShown = this.greeterShownGen === this.d.ui.generation;
    let approval: string;
    let uid: number;
    try {
      const r = await this.d.auth.request(
        {
          type: req.kind === 'pin' ? 'authenticate_pin' : 'authenticate',
          username: req.sessionId !== undefined && target ? target.username : req.username,
          [req.kind === 'pin' ? 'pin' : 'password']: req.secret,
          vt,
          purpose,
          ...(target ? { session_id: target.sid } : {}),
        },
        this.d.config.authd.auth_timeout_ms,
      );
      approval = String(r.approval);
      uid = Number(r.uid);
    } catch (e) {
      return this.authFailed(req.username, e);
    }
    this.go('approved');
    this.d.log.info('login approved', { uid, purpose });
    await this.syncUi(); // the UI never survives into the session
    let session: SessionRecordLike;
    try {
      const msg = target
        ? { type: this.activeSid ? 'activate' : 'unlock', sid: target.sid, approval }
        : { type: 'create_session', approval, vt };
      const r = await this.d.session.request(msg, this.d.config.sessiond.launch_timeout_ms);
      session = r.session as SessionRecordLike;
    } catch (e) {
      const pe = e instanceof ProtocolError ? e : new ProtocolError('internal', 'internal error');
      const message = pe.code === 'unavailable' || pe.code === 'timeout' ? MSG.sessionUnavailable : MSG.launchFailed;
      this.d.log.warn('session start failed', { code: pe.code, error: pe.message });
      const state = this.go('launch_failed', message);
      if (state === 'locked' && target) this.lockShown = target.sid;
      await this.syncUi();
      if (state === 'locked' && target) this.d.broadcast('lock', { session: await this.lockedWire(target) });
      return { ok: false, code: pe.code === 'timeout' ? 'unavailable' : pe.code, state: this.machine.state, message };
    }
    if (target) {
      this.locked.delete(target.sid);
      this.lockShown = null;
      this.d.broadcast('unlock', { session_id: target.sid });
    }
    this.activeSid = session.sid;
    this.go('session_started');
    if (!target && greeterShown) this.loginMarker = { sid: session.sid, uid };
    if (session.state === 'active') this.maybeLoginMarker(session.sid);
    if (this.endedEarly.delete(session.sid) || session.state === 'closed' || session.state === 'closing') {
      await this.sessionEnded(session.sid, 'exited');
    }
    this.endedEarly.clear();
    return { ok: true, uid, state: 'session_running', message: 'Session started' };
  }

  private maybeLoginMarker(sid: string): void {
    if (this.loginMarker?.sid !== sid) return;
    const { uid } = this.loginMarker;
    this.loginMarker = null;
    this.marker(`ui: login uid=${uid}`);
  }

  private authFailed(username: string, e: unknown): LoginOutcome {
    const pe = e instanceof ProtocolError ? e : new ProtocolError('internal', 'internal error');
    let code: ErrorCode = pe.code;
    let message: string;
    let retry: number | undefined;
    if (pe.code === 'rate_limited') {
      retry = pe.extra.retry_after_ms ?? 1_000;
      message = `Too many attempts; try again in ${Math.ceil(retry / 1000)} s`;
      this.d.broadcast('rate_limit', { username: username.slice(0, 256), retry_after_ms: retry });
    } else if (pe.code === 'unavailable' || pe.code === 'timeout') {
      code = 'unavailable';
      message = MSG.authUnavailable;
    } else if (AUTH_MESSAGES[pe.code]) {
      message = AUTH_MESSAGES[pe.code]!;
    } else {
      code = pe.code === 'internal' || pe.code === 'bad_request' || pe.code === 'not_found' ? 'auth_failed' : pe.code;
      message = MSG.loginFailed;
    }
    this.d.log.info('login refused', { code: pe.code });
    const state = this.go('auth_failed', message);
    void this.syncUi();
    return { ok: false, code, state, message, ...(retry !== undefined ? { retry_after_ms: retry } : {}) };
  }

  async startFirstSession(token: string): Promise<LoginOutcome> {
    const entry = this.tokens.take(token);
    if (!entry) return { ok: false, code: 'approval_invalid', state: this.machine.state, message: 'The setup step expired; log in with your password' };
    const secret = entry.password.toString('utf8');
    entry.password.fill(0);
    return this.login({ username: entry.username, secret, kind: 'password' });
  }

  async createFirstUser(req: { username: string; full_name: string; password: string; pin?: string }): Promise<Record<string, unknown>> {
    if (this.machine.state !== 'first_boot') throw new ProtocolError('not_first_boot', 'Setup has already been completed');
    const r = await this.authRequest(
      { type: 'create_first_user', username: req.username, full_name: req.full_name, password: req.password, ...(req.pin ? { pin: req.pin } : {}) },
      this.d.config.authd.auth_timeout_ms,
    );
    const token = this.tokens.issue(String(r.username), Number(r.uid), req.password);
    this.d.log.info('first user created', { uid: r.uid, username: r.username });
    return {
      type: 'create_first_user_result',
      uid: r.uid,
      username: r.username,
      recovery_key: typeof r.recovery_key === 'string' ? r.recovery_key : '',
      strength: r.strength,
      continue_token: token,
      continue_token_ttl_ms: this.tokens.ttlMs,
    };
  }

  switchUser(): void {
    if (!this.machine.can('switch_user')) throw new ProtocolError('invalid_state', `cannot switch user while ${this.machine.state}`);
    this.lockShown = null;
    this.go('switch_user');
    void this.syncUi();
  }

  // ---------- power ----------

  /**
   * Shutdown/reboot through authd. On success greeterd stays in power_action (the machine is
   * going down) — but not for ever: if it is still up after `power_settle_timeout_ms`, the
   * action did not take effect and greeterd goes back to the screen it came from, telling the
   * UI why (reason `power_no_effect`).
   */
  async power(action: 'shutdown' | 'reboot'): Promise<{ ok: boolean; message: string }> {
    if (!this.machine.can('power')) return { ok: false, message: `Not possible while ${this.machine.state}` };
    this.go('power');
    try {
      const r = await this.d.auth.request({ type: 'power_action', action }, this.d.config.authd.auth_timeout_ms);
      if (r.ok === true) {
        if (this.machine.state === 'power_action') this.armPowerSettle(action);
        return { ok: true, message: String(r.message ?? action) };
      }
      const message = String(r.message || `${action} failed`).slice(0, 1024);
      this.go('power_failed', message);
      await this.afterPowerResume();
      return { ok: false, message };
    } catch (e) {
      const pe = e instanceof ProtocolError ? e : new ProtocolError('internal', 'internal error');
      const message = pe.code === 'unavailable' || pe.code === 'timeout' ? MSG.authUnavailable : `${action} failed`;
      this.go('power_failed', message);
      await this.afterPowerResume();
      return { ok: false, message };
    }
  }

  private armPowerSettle(action: 'shutdown' | 'reboot'): void {
    this.clearPowerSettle();
    const ms = this.d.config.power_settle_timeout_ms;
    if (ms <= 0 || this.closed) return;
    this.powerSettle = setTimeout(() => {
      this.powerSettle = null;
      void this.powerNoEffect(action, ms);
    }, ms);
    this.powerSettle.unref();
  }

  private clearPowerSettle(): void {
    if (this.powerSettle) clearTimeout(this.powerSettle);
    this.powerSettle = null;
  }

  /** The power command succeeded, yet here we still are: back to the screen, and say so. */
  private async powerNoEffect(action: 'shutdown' | 'reboot', ms: number): Promise<void> {
    if (this.closed || !this.machine.can('power_no_effect')) return;
    const message = action === 'shutdown' ? MSG.shutdownNoEffect : MSG.rebootNoEffect;
    this.d.log.warn('power action did not take effect', { action, settle_ms: ms });
    this.go('power_no_effect', message, 'power_no_effect');
    await this.afterPowerResume();
  }

  /**
   * Back on a screen after power_action. A lock screen whose session ended meanwhile is no
   * screen at all: then the user list. A lock screen is announced again (a UI restarted during
   * power_action never saw it).
   */
  private async afterPowerResume(): Promise<void> {
    if (this.machine.state === 'locked') {
      const s = this.lockShown ? this.locked.get(this.lockShown) : undefined;
      if (!s) {
        this.lockShown = null;
        this.go('switch_user');
      } else {
        await this.syncUi();
        this.d.broadcast('lock', { session: await this.lockedWire(s) });
        return;
      }
    }
    await this.syncUi();
  }

  // ---------- markers ----------

  /** The UI says it rendered a screen: the only source of the `ui: …` markers. */
  reportScreen(screen: string): void {
    const st = this.machine.state;
    if (screen === 'greeter' || screen === 'oobe') this.greeterShownGen = this.d.ui.generation;
    if (screen === 'oobe' && st === 'first_boot' && !this.oobeMarked) {
      this.oobeMarked = true;
      this.marker('ui: oobe start');
    }
    if (screen === 'lock' && st === 'locked' && !this.lockMarked) {
      this.lockMarked = true;
      this.marker('ui: lockscreen shown');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearPowerSettle();
    this.tokens.clear();
    await this.d.ui.stop();
  }
}
