/**
 * ui-api: the one and only surface the kiosk renderer may use.
 *
 * The renderer sees `window.greeter: GreeterApi`. It is implemented by
 *   - the Electron preload (contextBridge, forwarding to greeterd), and
 *   - the web shell client (the same calls as JSON over a WebSocket),
 *   - the in-memory fake in renderer/src/dev/fake-api.ts (development only).
 *
 * Rules for implementers:
 *   - every verb is async and every argument / result is plain JSON
 *     (no functions, Dates, Maps, class instances, undefined-in-arrays);
 *   - secrets (passwords, PINs) travel as strings; the renderer clears its copy
 *     right after submitting, implementers must not log them;
 *   - failures are values (`{ ok: false, code, message }`), never thrown for
 *     expected outcomes. A rejected promise means "transport broke" and the UI
 *     treats it like `unavailable`;
 *   - `onEvent` is the only callback; it returns an unsubscribe function.
 *
 * Pure TypeScript: imports only the import-free states.ts; no node:*, no DOM types.
 */

export const UI_API_VERSION = 1 as const;

// ---------------------------------------------------------------------------
// States and codes
// ---------------------------------------------------------------------------

/** Daemon states. The first eight are Red Bear's greeter state names. */
import { GREETER_STATES, type GreeterState } from './states.js';
export { GREETER_STATES, type GreeterState };

export const ERROR_CODES = [
  /** Wrong password / PIN (deliberately not saying which part was wrong). */
  'auth_failed',
  /** Too many attempts; `retryAfterMs` says when the next one is accepted. */
  'rate_limited',
  /** The password has expired: use `changeExpiredPassword`. */
  'password_expired',
  /** Administrator requires a new password before the first login. */
  'password_change_required',
  /** Locked by policy (too many failures, admin action). */
  'account_locked',
  'account_disabled',
  'account_expired',
  /** greeterd (or a service behind it) cannot serve the request right now. */
  'unavailable',
  /** Malformed input (empty username, over-long secret, invalid PIN format…). */
  'bad_request',
  'internal',
  // Setup (OOBE) specific
  /** Username does not match the portable POSIX pattern or is reserved. */
  'invalid_username',
  /** A user (or group) with that name already exists. */
  'username_taken',
  /** The password is rejected by policy; `message` says why. */
  'weak_password',
  /** `createFirstUser` / `completeFirstBoot` called when not in first boot. */
  'not_first_boot',
  /** Continue token unknown, already used or expired. */
  'invalid_token',
  // Lock screen specific
  /** The locked session no longer exists (it ended, or the id is stale). */
  'session_not_found',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isGreeterState(value: unknown): value is GreeterState {
  return typeof value === 'string' && (GREETER_STATES as readonly string[]).includes(value);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------
// Shared limits (the daemon enforces them; the UI uses them for early hints)
// ---------------------------------------------------------------------------

/** Portable POSIX user name, lower-case only, first char a letter, max 32. */
export const USERNAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
export const USERNAME_MAX_LENGTH = 32;
/** PINs are 4–12 ASCII digits. */
export const PIN_PATTERN = /^[0-9]{4,12}$/;
export const PIN_MIN_LENGTH = 4;
export const PIN_MAX_LENGTH = 12;
export const PASSWORD_MIN_LENGTH = 8;
/** Any secret longer than this is `bad_request` (bounded KDF input). */
export const SECRET_MAX_LENGTH = 1024;
export const FULL_NAME_MAX_LENGTH = 128;
/** User names that are never offered/accepted for the first user. */
export const RESERVED_USERNAMES: readonly string[] = [
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp',
  'proxy', 'www-data', 'backup', 'list', 'irc', 'nobody', 'nogroup', 'admin', 'sudo',
  'wheel', 'adm', 'users', 'staff', 'operator', 'greeter', 'redbear-greeter', 'sddm',
  'gdm', 'lightdm', 'messagebus', 'systemd-network', 'systemd-resolve', 'polkitd',
];

// ---------------------------------------------------------------------------
// Data shapes
// ---------------------------------------------------------------------------

export interface HelloInfo {
  apiVersion: typeof UI_API_VERSION;
  /** URL served by the shell for /usr/share/redbear/greeter/background.png. */
  background: string;
  /** URL served by the shell for the Red Bear icon (PNG or SVG). */
  icon: string;
  /** Session that will be started, shown under the password field. */
  sessionName: 'KDE on Wayland';
  state: GreeterState;
  /** Human readable daemon message for `state` (may be empty). */
  message: string;
  /** True until the first user has been created (OOBE must be shown). */
  firstBoot: boolean;
  /** BCP 47 system locale, e.g. "de-DE". */
  locale?: string;
  hostname?: string;
  /** Present when `state === 'locked'` at the time of the call (renderer restart). */
  lock?: LockedSession;
  /** Whether power actions are permitted from the login screen. */
  canShutdown?: boolean;
  canReboot?: boolean;
}

export interface UserSummary {
  username: string;
  fullName: string;
  uid: number;
  /** The user has a PIN configured (offer PIN mode). */
  hasPin: boolean;
  /** The account is locked by policy (tile shown disabled with a hint). */
  locked: boolean;
  /** `data:image/...` URL or a URL served by the shell. Absent → initials. */
  avatar?: string;
  /**
   * The user's open session (from sessiond, through greeterd): `locked` — choosing the user
   * unlocks that session instead of starting a new one; `active` — it is running. Absent: none.
   */
  session?: UserSessionState;
}

export type UserSessionState = 'locked' | 'active';

/**
 * Why greeterd changed state, when the UI should say something about it:
 * `power_no_effect` — a shutdown/reboot command succeeded but the machine is still up after
 * greeterd's settle time; greeterd is back on the screen the request came from.
 */
export type StateReason = 'power_no_effect';
export const STATE_REASONS: readonly StateReason[] = ['power_no_effect'];

export interface LockedSession {
  /** Opaque session id, passed back to `unlock`. */
  id: string;
  username: string;
  fullName: string;
  uid: number;
  /** Epoch milliseconds. */
  lockedAt: number;
  hasPin: boolean;
  avatar?: string;
}

export interface Failure {
  ok: false;
  code: ErrorCode;
  /** Short English text for logs; the UI shows its own localised text per code. */
  message: string;
  /** With `rate_limited` (and sometimes `auth_failed`): wait this long. */
  retryAfterMs?: number;
}

export type LoginOutcome = { ok: true } | Failure;
export type ActionOutcome = { ok: true } | Failure;

export interface PowerOutcome {
  ok: boolean;
  message: string;
}

export type SecretKind = 'password' | 'pin';

export interface PasswordStrength {
  /** 0 = very weak … 4 = strong. */
  score: 0 | 1 | 2 | 3 | 4;
  warning?: string;
}

export interface NewUserRequest {
  fullName: string;
  username: string;
  password: string;
  /** 4–12 digits, omitted for no PIN. */
  pin?: string;
  /** Locale chosen during setup, stored for the new user. */
  locale?: string;
}

/**
 * Successful first-user creation.
 *
 * First-session handoff: the daemon keeps the new user's credentials in
 * locked memory, bound to `continueToken` (single use, expires after
 * `continueTokenTtlMs`). After the user confirms the recovery key, the UI calls
 * `completeFirstBoot(continueToken)` and the daemon starts the session with
 * those credentials, so there is no second password prompt. If the token has
 * expired the UI falls back to the normal greeter with the user preselected.
 */
export interface CreateUserSuccess {
  ok: true;
  uid: number;
  username: string;
  /** Shown exactly once; the daemon does not keep it in plain text. */
  recoveryKey: string;
  strength: PasswordStrength;
  continueToken: string;
  continueTokenTtlMs: number;
}
export type CreateUserOutcome = CreateUserSuccess | Failure;

export type ScreenName = 'oobe' | 'greeter' | 'lock' | 'fatal';
export const SCREEN_NAMES: readonly ScreenName[] = ['oobe', 'greeter', 'lock', 'fatal'];

/** What the UI actually rendered (daemon prints markers from this). Flat, bounded. */
export interface ScreenInfo {
  /** Sub-step, e.g. OOBE "password", greeter "user_list" | "password" | "pin" | "change_password". */
  step?: string;
  /** UI locale in effect. */
  locale?: string;
  userCount?: number;
  /** Username the screen is about (selected tile / locked session). Never secrets. */
  username?: string;
  highContrast?: boolean;
  largeText?: boolean;
  /** Why the fatal screen is shown: 'fatal_error' | 'disconnected' | 'no_api'. */
  reason?: string;
}

// ---------------------------------------------------------------------------
// Events pushed by the daemon / shell
// ---------------------------------------------------------------------------

export type GreeterEvent =
  | { kind: 'state'; state: GreeterState; message: string; reason?: StateReason }
  /** A session got locked: show the lock screen for it. */
  | { kind: 'lock'; session: LockedSession }
  /** A locked session was unlocked or ended; drop its lock screen. */
  | { kind: 'unlock'; sessionId: string }
  /** Users were added/removed/changed: call `listUsers()` again. */
  | { kind: 'users_changed' }
  /** Transport status between the shell and greeterd. */
  | { kind: 'connection'; connected: boolean };

export type GreeterEventListener = (event: GreeterEvent) => void;

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

export interface GreeterApi {
  /** First call after load (and after reconnecting). */
  hello(): Promise<HelloInfo>;
  listUsers(): Promise<UserSummary[]>;

  login(username: string, password: string): Promise<LoginOutcome>;
  loginPin(username: string, pin: string): Promise<LoginOutcome>;
  /** After `password_expired` / `password_change_required`; on success the session starts. */
  changeExpiredPassword(username: string, oldPassword: string, newPassword: string): Promise<LoginOutcome>;

  /** First boot only. */
  createFirstUser(request: NewUserRequest): Promise<CreateUserOutcome>;
  /** First boot only: start the new user's session with the token from `createFirstUser`. */
  completeFirstBoot(continueToken: string): Promise<LoginOutcome>;

  unlock(sessionId: string, secret: string, kind: SecretKind): Promise<LoginOutcome>;
  /** From the lock screen: back to the user list; the locked session stays locked. */
  switchUser(): Promise<ActionOutcome>;

  requestShutdown(): Promise<PowerOutcome>;
  requestReboot(): Promise<PowerOutcome>;

  reportScreen(screen: ScreenName, info?: ScreenInfo): Promise<void>;
  /** Keyboard/pointer activity (throttled by the UI to at most one call per 5 s). */
  reportActivity(): Promise<void>;

  onEvent(listener: GreeterEventListener): () => void;
}

/** Request/response verbs (everything but `onEvent`), for generic forwarding. */
export const GREETER_API_METHODS = [
  'hello',
  'listUsers',
  'login',
  'loginPin',
  'changeExpiredPassword',
  'createFirstUser',
  'completeFirstBoot',
  'unlock',
  'switchUser',
  'requestShutdown',
  'requestReboot',
  'reportScreen',
  'reportActivity',
] as const satisfies readonly Exclude<keyof GreeterApi, 'onEvent'>[];
export type GreeterApiMethod = (typeof GREETER_API_METHODS)[number];
