/**
 * In-memory fake greeterd for development and UI tests. NEVER used in
 * production: see ../api.ts for when it is enabled (dev server, or `?fake=1`
 * on a build made without REDBEAR_NO_FAKE=1, and only when window.greeter is absent).
 *
 * Users: alice (PIN 1234), bob; password "password" for both.
 * Via "Other user…": expired / mustchange / disabled / expiredacct / lockedout
 * (all password "password") exercise the account error paths.
 * Three wrong attempts → rate_limited for `?throttleMs=` (default 30000) ms.
 *
 * URL switches: ?firstBoot=1  ?locked=1  ?down=1 (greeterd unreachable; comes
 * back after ?downMs=, default never)  ?fatal=1  ?latency=ms  ?empty=1 (no users)
 * ?powerSettleMs= (shutdown/reboot "did not take effect" after this, default 5000; 0 = never).
 * A locked session marks its user in the list (`session: 'locked'`), as greeterd does.
 * Hotkeys: Ctrl+Shift+L lock alice's session, Ctrl+Shift+K toggle connection,
 * Ctrl+Shift+U add a user.
 */
import type {
  CreateUserOutcome, Failure, GreeterApi, GreeterEvent, GreeterEventListener, GreeterState, HelloInfo,
  LockedSession, LoginOutcome, NewUserRequest, PowerOutcome, ScreenInfo, ScreenName, UserSummary, ActionOutcome,
} from '../../../protocol/src/common/ui-api';
import { PIN_PATTERN, USERNAME_PATTERN, RESERVED_USERNAMES, SECRET_MAX_LENGTH, UI_API_VERSION } from '../../../protocol/src/common/ui-api';
import backgroundUrl from '../../../assets/background.png?url';
import iconUrl from '../../../assets/icon.svg?url';
import { estimateStrength } from '../lib/strength';

interface FakeUser extends UserSummary {
  password: string;
  pin?: string;
  special?: 'password_expired' | 'password_change_required' | 'account_disabled' | 'account_expired';
}

export interface FakeControls {
  lock(username?: string): void;
  setConnected(connected: boolean): void;
  setState(state: GreeterState, message?: string): void;
  addUser(username: string, fullName: string): void;
}

const fail = (code: Failure['code'], message: string, retryAfterMs?: number): Failure =>
  retryAfterMs === undefined ? { ok: false, code, message } : { ok: false, code, message, retryAfterMs };

function randomKey(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

export function createFakeApi(search: string = location.search): GreeterApi & { controls: FakeControls } {
  const q = new URLSearchParams(search);
  const latency = Number(q.get('latency') ?? 450);
  const throttleMs = Number(q.get('throttleMs') ?? 30_000);
  const listeners = new Set<GreeterEventListener>();
  let firstBoot = q.get('firstBoot') === '1';
  let connected = q.get('down') !== '1';
  let state: GreeterState = q.get('fatal') === '1' ? 'fatal_error' : firstBoot ? 'first_boot' : 'greeter_ready';
  let message = state === 'fatal_error' ? 'PAM stack failed to initialise' : '';
  let lock: LockedSession | undefined;
  let failures = 0;
  let throttledUntil = 0;
  const tokens = new Map<string, { username: string; expires: number }>();

  const users: FakeUser[] = firstBoot || q.get('empty') === '1'
    ? []
    : [
        { username: 'alice', fullName: 'Alice Liddell', uid: 1000, hasPin: true, locked: false, password: 'password', pin: '1234' },
        { username: 'bob', fullName: 'Bob Marley', uid: 1001, hasPin: false, locked: false, password: 'password' },
      ];
  const hidden: FakeUser[] = [
    { username: 'expired', fullName: 'Expired Password', uid: 1100, hasPin: false, locked: false, password: 'password', special: 'password_expired' },
    { username: 'mustchange', fullName: 'Must Change', uid: 1101, hasPin: false, locked: false, password: 'password', special: 'password_change_required' },
    { username: 'disabled', fullName: 'Disabled', uid: 1102, hasPin: false, locked: false, password: 'password', special: 'account_disabled' },
    { username: 'expiredacct', fullName: 'Expired Account', uid: 1103, hasPin: false, locked: false, password: 'password', special: 'account_expired' },
    { username: 'lockedout', fullName: 'Locked Out', uid: 1104, hasPin: false, locked: true, password: 'password' },
  ];

  const emit = (e: GreeterEvent): void => {
    for (const l of [...listeners]) {
      try { l(e); } catch (err) { console.error(err); }
    }
  };
  const setState = (s: GreeterState, m = ''): void => {
    state = s;
    message = m;
    emit({ kind: 'state', state: s, message: m });
  };
  const delay = <T>(value: T | (() => T), ms = latency): Promise<T> =>
    new Promise((resolve, reject) =>
      setTimeout(() => {
        if (!connected) reject(new Error('greeterd unreachable'));
        else resolve(typeof value === 'function' ? (value as () => T)() : value);
      }, ms),
    );
  const find = (username: string): FakeUser | undefined =>
    users.find((u) => u.username === username) ?? hidden.find((u) => u.username === username);
  const summary = ({ username, fullName, uid, hasPin, locked, avatar }: FakeUser): UserSummary => {
    const out: UserSummary = avatar === undefined ? { username, fullName, uid, hasPin, locked } : { username, fullName, uid, hasPin, locked, avatar };
    if (lock?.username === username) out.session = 'locked';
    return out;
  };
  const powerSettleMs = Number(q.get('powerSettleMs') ?? 5000);
  const power = (text: string): PowerOutcome => {
    const from = state;
    setState('power_action', text);
    if (powerSettleMs > 0) {
      setTimeout(() => {
        if (state !== 'power_action') return;
        state = from;
        message = 'The power action did not take effect; the computer is still running';
        emit({ kind: 'state', state: from, message, reason: 'power_no_effect' });
      }, powerSettleMs);
    }
    return { ok: true, message: text };
  };

  const startSession = (): LoginOutcome => {
    setState('launching_session', 'Starting KDE on Wayland');
    setTimeout(() => setState('session_running', ''), 1200);
    return { ok: true };
  };

  const checkSecret = (user: FakeUser | undefined, secret: string, kind: 'password' | 'pin'): LoginOutcome | null => {
    const now = Date.now();
    if (throttledUntil > now) return fail('rate_limited', 'too many attempts', throttledUntil - now);
    if (secret.length === 0 || secret.length > SECRET_MAX_LENGTH) return fail('bad_request', 'bad secret length');
    const good = user !== undefined && (kind === 'password' ? user.password === secret : user.pin !== undefined && user.pin === secret);
    if (!good) {
      failures++;
      if (failures >= 3) {
        failures = 0;
        throttledUntil = now + throttleMs;
        return fail('rate_limited', 'too many attempts', throttleMs);
      }
      return fail('auth_failed', 'authentication failed');
    }
    failures = 0;
    return null;
  };

  const doLogin = (username: string, secret: string, kind: 'password' | 'pin'): LoginOutcome => {
    const user = find(username);
    const bad = checkSecret(user, secret, kind);
    if (bad) return bad;
    if (user!.locked) return fail('account_locked', 'account locked');
    if (user!.special) return fail(user!.special, user!.special.replace(/_/g, ' '));
    if (lock && lock.username === username) {
      const id = lock.id;
      lock = undefined;
      emit({ kind: 'unlock', sessionId: id });
    }
    return startSession();
  };

  const doLock = (username = 'alice'): void => {
    const user = find(username) ?? users[0];
    if (!user) return;
    lock = {
      id: `s-${Math.random().toString(36).slice(2, 10)}`,
      username: user.username,
      fullName: user.fullName,
      uid: user.uid,
      lockedAt: Date.now() - (q.get('locked') === '1' ? 42 * 60_000 : 0),
      hasPin: user.hasPin,
    };
    state = 'locked';
    emit({ kind: 'lock', session: lock });
    emit({ kind: 'state', state: 'locked', message: '' });
  };

  if (q.get('locked') === '1' && !firstBoot) doLock('alice');
  const downMs = Number(q.get('downMs') ?? 0);
  if (!connected && downMs > 0) setTimeout(() => controls.setConnected(true), downMs);

  const controls: FakeControls = {
    lock: doLock,
    setConnected(c) {
      connected = c;
      emit({ kind: 'connection', connected: c });
    },
    setState,
    addUser(username, fullName) {
      users.push({ username, fullName, uid: 1000 + users.length + 5, hasPin: false, locked: false, password: 'password' });
      emit({ kind: 'users_changed' });
    },
  };

  window.addEventListener('keydown', (e) => {
    if (!e.ctrlKey || !e.shiftKey) return;
    const k = e.key.toLowerCase();
    if (k === 'l') { e.preventDefault(); doLock('alice'); }
    if (k === 'k') { e.preventDefault(); controls.setConnected(!connected); }
    if (k === 'u') { e.preventDefault(); controls.addUser(`user${users.length + 1}`, `Test User ${users.length + 1}`); }
  });

  const api: GreeterApi & { controls: FakeControls } = {
    controls,
    hello: () =>
      delay((): HelloInfo => {
        const info: HelloInfo = {
          apiVersion: UI_API_VERSION,
          background: backgroundUrl,
          icon: iconUrl,
          sessionName: 'KDE on Wayland',
          state,
          message,
          firstBoot,
          locale: q.get('locale') ?? navigator.language,
          hostname: 'redbear',
          canShutdown: true,
          canReboot: true,
        };
        if (lock) info.lock = lock;
        return info;
      }, 120),
    listUsers: () => delay(() => users.map(summary), 80),
    login: (username, password) => delay(() => doLogin(username, password, 'password')),
    loginPin: (username, pin) => delay(() => doLogin(username, pin, 'pin')),
    changeExpiredPassword: (username, oldPassword, newPassword) =>
      delay(() => {
        const user = find(username);
        const bad = checkSecret(user, oldPassword, 'password');
        if (bad) return bad;
        if (newPassword === oldPassword) return fail('weak_password', 'new password must differ');
        if (estimateStrength(newPassword, [username]).score < 2) return fail('weak_password', 'password too weak');
        user!.password = newPassword;
        delete user!.special;
        return startSession();
      }),
    createFirstUser: (req: NewUserRequest) =>
      delay((): CreateUserOutcome => {
        if (!firstBoot) return fail('not_first_boot', 'setup already completed');
        if (!USERNAME_PATTERN.test(req.username) || RESERVED_USERNAMES.includes(req.username)) return fail('invalid_username', 'invalid username');
        if (find(req.username) || req.username === 'taken') return fail('username_taken', 'username taken');
        const strength = estimateStrength(req.password, [req.username, ...req.fullName.split(/\s+/)]);
        if (strength.score < 2) return fail('weak_password', 'password too weak');
        if (req.pin !== undefined && !PIN_PATTERN.test(req.pin)) return fail('bad_request', 'invalid PIN');
        const user: FakeUser = {
          username: req.username, fullName: req.fullName, uid: 1000, hasPin: req.pin !== undefined, locked: false, password: req.password,
        };
        if (req.pin !== undefined) user.pin = req.pin;
        users.push(user);
        const continueToken = randomKey();
        tokens.set(continueToken, { username: req.username, expires: Date.now() + 600_000 });
        const result: CreateUserOutcome = {
          ok: true, uid: 1000, username: req.username, recoveryKey: randomKey(), continueToken, continueTokenTtlMs: 600_000,
          strength: strength.warning ? { score: strength.score, warning: strength.warning } : { score: strength.score },
        };
        return result;
      }, 1200),
    completeFirstBoot: (token) =>
      delay((): LoginOutcome => {
        const entry = tokens.get(token);
        tokens.delete(token);
        if (!entry || entry.expires < Date.now() || q.get('expireToken') === '1') {
          firstBoot = false;
          setState('greeter_ready');
          emit({ kind: 'users_changed' });
          return fail('invalid_token', 'continue token expired');
        }
        firstBoot = false;
        emit({ kind: 'users_changed' });
        return startSession();
      }),
    unlock: (sessionId, secret, kind) =>
      delay((): LoginOutcome => {
        if (!lock || lock.id !== sessionId) return fail('session_not_found', 'no such session');
        const bad = checkSecret(find(lock.username), secret, kind);
        if (bad) return bad;
        const id = lock.id;
        lock = undefined;
        emit({ kind: 'unlock', sessionId: id });
        setState('session_running');
        return { ok: true };
      }),
    switchUser: () =>
      delay((): ActionOutcome => {
        setState('greeter_ready');
        return { ok: true };
      }, 150),
    requestShutdown: () => delay(() => power('Shutting down')),
    requestReboot: () => delay(() => power('Restarting')),
    reportScreen: (screen: ScreenName, info?: ScreenInfo) => {
      console.info(`[fake greeterd] screen=${screen}`, info ?? {});
      return delay(undefined, 10);
    },
    reportActivity: () => delay(undefined, 10),
    onEvent(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  (window as unknown as { redbearFake?: FakeControls }).redbearFake = controls;
  return api;
}
