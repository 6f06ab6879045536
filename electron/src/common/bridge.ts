import { EventEmitter } from 'node:events';
import { ProtocolError, type ui } from '@redbear/protocol';
import { ReconnectingClient } from '@redbear/protocol/node';
import { uiCode } from './error-map.js';

type Msg = Record<string, unknown>;

export interface BridgeOptions {
  socketPath: string;
  /** URL under which the shell serves the asset greeterd announced (background, icon). */
  assetUrl(kind: 'background' | 'icon'): string;
  avatarUrl(username: string): string;
  locale?: string;
  requestTimeoutMs?: number;
}

/**
 * The renderer API on top of greeterd's v2 socket, shared by the Electron main process and
 * the web shell: only the transport to the renderer differs.
 */
export class GreeterdBridge extends EventEmitter {
  readonly client: ReconnectingClient;
  /** Paths greeterd announced in hello_ok: the only files the shell will serve as assets. */
  assets: { background: string | null; icon: string | null } = { background: null, icon: null };

  constructor(private readonly opts: BridgeOptions) {
    super();
    this.client = new ReconnectingClient({ iface: 'greeter', socketPath: opts.socketPath, clientName: 'redbear-greeter-ui', events: ['state', 'lock', 'unlock', 'users_changed'], timeoutMs: opts.requestTimeoutMs ?? 30_000 });
    this.client.on('connected', (hello: Msg) => {
      this.assets = { background: String(hello.background), icon: String(hello.icon) };
      this.emitEvent({ kind: 'connection', connected: true });
    });
    this.client.on('disconnected', () => this.emitEvent({ kind: 'connection', connected: false }));
    this.client.on('event', (e: Msg) => this.onDaemonEvent(e));
  }

  start(): void {
    this.client.start();
  }

  stop(): void {
    this.client.stop();
  }

  private emitEvent(e: ui.GreeterEvent): void {
    this.emit('event', e);
  }

  private onDaemonEvent(e: Msg): void {
    switch (e.event) {
      case 'state':
        return this.emitEvent({
          kind: 'state',
          state: e.state as ui.GreeterState,
          message: String(e.message),
          ...(e.reason === 'power_no_effect' ? { reason: e.reason as ui.StateReason } : {}),
        });
      case 'lock':
        return this.emitEvent({ kind: 'lock', session: this.lockedSession(e.session as Msg) });
      case 'unlock':
        return this.emitEvent({ kind: 'unlock', sessionId: String(e.session_id) });
      case 'users_changed':
        return this.emitEvent({ kind: 'users_changed' });
    }
  }

  private lockedSession(s: Msg): ui.LockedSession {
    return { id: String(s.session_id), username: String(s.username), fullName: String(s.full_name), uid: Number(s.uid), lockedAt: Number(s.locked_at_ms), hasPin: Boolean(s.has_pin) };
  }

  private failure(e: unknown, verb: string): ui.Failure {
    if (e instanceof ProtocolError) {
      const f: ui.Failure = { ok: false, code: uiCode(e.code, verb), message: e.message };
      if (e.extra.retry_after_ms !== undefined) f.retryAfterMs = e.extra.retry_after_ms;
      return f;
    }
    return { ok: false, code: 'internal', message: 'internal error' };
  }

  private async outcome(verb: string, msg: Msg & { type: string }): Promise<ui.LoginOutcome> {
    try {
      await this.client.request(msg);
      return { ok: true };
    } catch (e) {
      return this.failure(e, verb);
    }
  }

  async hello(): Promise<ui.HelloInfo> {
    if (!this.client.connected) await this.client.waitConnected(5_000).catch(() => undefined);
    const h = this.client.hello;
    if (!h) throw new ProtocolError('unavailable', 'greeterd is not reachable');
    const info: ui.HelloInfo = {
      apiVersion: 1,
      background: this.opts.assetUrl('background'),
      icon: this.opts.assetUrl('icon'),
      sessionName: 'KDE on Wayland',
      state: h.state as ui.GreeterState,
      message: String(h.message ?? ''),
      firstBoot: Boolean(h.first_boot),
      hostname: String(h.hostname ?? ''),
    };
    if (this.opts.locale) info.locale = this.opts.locale;
    if (h.lock && typeof h.lock === 'object') info.lock = this.lockedSession(h.lock as Msg);
    return info;
  }

  async listUsers(): Promise<ui.UserSummary[]> {
    const r = await this.client.request({ type: 'list_users' });
    return (r.users as Msg[]).map((u) => {
      const out: ui.UserSummary = { username: String(u.username), fullName: String(u.full_name), uid: Number(u.uid), hasPin: Boolean(u.has_pin), locked: Boolean(u.locked) };
      if (u.has_avatar) out.avatar = this.opts.avatarUrl(String(u.username));
      if (u.session === 'locked' || u.session === 'active') out.session = u.session;
      return out;
    });
  }

  /** Raw avatar bytes for the shell to serve (greeterd size-limits them). */
  async avatar(username: string): Promise<{ mime: string; data: Buffer } | null> {
    try {
      const r = await this.client.request({ type: 'get_avatar', username });
      return { mime: String(r.mime), data: Buffer.from(String(r.data_base64), 'base64') };
    } catch {
      return null;
    }
  }

  login(username: string, password: string) {
    return this.outcome('login', { type: 'submit_login', username, password });
  }
  loginPin(username: string, pin: string) {
    return this.outcome('loginPin', { type: 'submit_pin', username, pin });
  }
  changeExpiredPassword(username: string, oldPassword: string, newPassword: string) {
    return this.outcome('changeExpiredPassword', { type: 'change_password', username, old_password: oldPassword, new_password: newPassword });
  }

  async createFirstUser(r: ui.NewUserRequest): Promise<ui.CreateUserOutcome> {
    try {
      const res = await this.client.request({ type: 'create_first_user', full_name: r.fullName, username: r.username, password: r.password, ...(r.pin ? { pin: r.pin } : {}) });
      const strength = res.strength as { score: ui.PasswordStrength['score']; warning?: string };
      return {
        ok: true,
        uid: Number(res.uid),
        username: String(res.username),
        recoveryKey: String(res.recovery_key),
        strength,
        continueToken: String(res.continue_token),
        continueTokenTtlMs: Number(res.continue_token_ttl_ms ?? 120_000),
      };
    } catch (e) {
      return this.failure(e, 'createFirstUser');
    }
  }

  completeFirstBoot(continueToken: string) {
    return this.outcome('completeFirstBoot', { type: 'start_first_session', continue_token: continueToken });
  }
  unlock(sessionId: string, secret: string, kind: ui.SecretKind) {
    return this.outcome('unlock', { type: 'unlock', session_id: sessionId, secret, kind });
  }
  switchUser() {
    return this.outcome('switchUser', { type: 'switch_user' });
  }

  private async power(type: 'request_shutdown' | 'request_reboot'): Promise<ui.PowerOutcome> {
    try {
      const r = await this.client.request({ type });
      return { ok: Boolean(r.ok), message: String(r.message) };
    } catch (e) {
      return { ok: false, message: e instanceof ProtocolError ? e.message : 'internal error' };
    }
  }
  requestShutdown() {
    return this.power('request_shutdown');
  }
  requestReboot() {
    return this.power('request_reboot');
  }

  async reportScreen(screen: ui.ScreenName, info: ui.ScreenInfo = {}): Promise<void> {
    const wire: Msg = { type: 'report_screen', screen };
    if (info.step !== undefined) wire.step = info.step;
    if (info.locale !== undefined) wire.locale = info.locale;
    if (info.username !== undefined) wire.username = info.username;
    if (info.reason !== undefined) wire.reason = info.reason;
    if (info.userCount !== undefined) wire.user_count = info.userCount;
    if (info.highContrast !== undefined) wire.high_contrast = info.highContrast;
    if (info.largeText !== undefined) wire.large_text = info.largeText;
    await this.client.request(wire as Msg & { type: string }).catch(() => undefined);
  }
  async reportActivity(): Promise<void> {
    await this.client.request({ type: 'report_activity' }).catch(() => undefined);
  }

  /** Dispatch a validated call by name. */
  call(method: ui.GreeterApiMethod, args: unknown[]): Promise<unknown> {
    const fn = this[method] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(this, args);
  }
}
