import { Type, type Static } from '@sinclair/typebox';
import { event, helloOk, V2, subscribe } from './envelope.js';
import { SessionRecord } from './records.js';
import { message, RequestId, Str, Uid, Username, Vt } from './schema-kit.js';

/**
 * Version 2 of the session sockets (greeterd, nx-session ↔ redbear-sessiond). sessiond speaks
 * no v1. Two sockets carry the same messages:
 *
 * - `/run/redbear-sessiond.sock` (0600 root; peers must be uid 0 when SO_PEERCRED is available):
 *   every request.
 * - `/run/redbear-sessiond-query.sock` (0666): only the read-only subset
 *   (`SESSION_QUERY_REQUESTS`) plus `subscribe`; anything else is refused with `unauthorized`.
 *
 * See docs/accounts/session-lifecycle.md.
 */

export const SessionId = Str(64, { pattern: '^[A-Za-z0-9_-]{1,64}$' });
export const Approval = Str(128);

export const SessionHelloOk = helloOk(
  { seat: Str(64), read_only: Type.Boolean() },
  'Version 2 accepted. read_only is true on the query socket (only the read-only subset is served there).',
);

export const SESSION_EVENTS = ['session', 'lock', 'session_ended', 'home'] as const;
export const { Subscribe: SessionSubscribe, SubscribeOk: SessionSubscribeOk } = subscribe(SESSION_EVENTS);

// ---- requests ----

export const CreateSession = message(
  'create_session',
  { id: RequestId, approval: Approval, vt: Vt },
  V2(
    'request',
    'Redeem an authd approval (purpose login) and start a session on vt: keystore token, SecureFS home, redbear-session-launch. A session already active on the seat is locked first (fast user switch). Root only.',
  ),
);
export const ListSessions = message('list_sessions', { id: RequestId }, V2('request', 'Every session that is not closed. Read-only.'));
export const GetSession = message('get_session', { id: RequestId, sid: SessionId }, V2('request', 'One session. Read-only.'));
export const CurrentSession = message('current_session', { id: RequestId }, V2('request', 'The active session of the seat, if any. Read-only.'));
export const CurrentHome = message(
  'current_home',
  { id: RequestId },
  V2('request', "The active session's home: state:/secure/home/<uid>/, its mount path (null until a FUSE mount exists) and whether it persists. Read-only."),
);
export const Lock = message('lock', { id: RequestId, sid: SessionId }, V2('request', 'Lock one session (closes its home and locks its keystore domain per the lock policy). Root only.'));
export const LockAll = message('lock_all', { id: RequestId }, V2('request', 'Lock every active session. Root only.'));
export const Unlock = message(
  'unlock',
  { id: RequestId, sid: SessionId, approval: Approval },
  V2('request', "Unlock a locked session with a fresh authd approval (purpose unlock) for that session's user and VT. Fails with invalid_state while another session is active (use activate). Root only."),
);
export const Activate = message(
  'activate',
  { id: RequestId, sid: SessionId, approval: Approval },
  V2('request', "Switch back to a locked session: lock the active one, unlock this one with a fresh approval, switch to its VT. Root only."),
);
export const Logout = message('logout', { id: RequestId, sid: SessionId }, V2('request', 'End a session: SIGTERM to the session leader, SIGKILL after the grace period; replies once it is closed. Root only.'));
export const ReportActivity = message(
  'report_activity',
  { id: RequestId, sid: Type.Optional(SessionId) },
  V2('request', 'User input happened (restarts the idle-lock timer of the active session, or of sid). Root only.'),
);
export const PrepareSleep = message('prepare_sleep', { id: RequestId }, V2('request', 'The system is about to sleep: lock every active session, reply when done. Root only.'));

/** Requests served on the 0666 query socket. */
export const SESSION_QUERY_REQUESTS = ['list_sessions', 'get_session', 'current_session', 'current_home'] as const;

// ---- replies ----

export const HomeInfo = Type.Object(
  {
    uid: Uid,
    uri: Str(4096),
    mount: Type.Union([Str(4096), Type.Null()]),
    persistent: Type.Boolean(),
    open: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const SessionResult = message('session_result', { id: RequestId, session: SessionRecord }, V2('reply', 'The session after the request.'));
export const SessionsResult = message(
  'sessions_result',
  { id: RequestId, sessions: Type.Array(SessionRecord, { maxItems: 64 }) },
  V2('reply', 'A list of sessions (list_sessions: all open ones; lock_all/prepare_sleep: the ones this request locked).'),
);
export const CurrentSessionResult = message(
  'current_session_result',
  { id: RequestId, session: Type.Union([SessionRecord, Type.Null()]) },
  V2('reply', 'The active session, or null (greeter or lock screen showing).'),
);
export const HomeResult = message(
  'home_result',
  { id: RequestId, home: Type.Union([HomeInfo, Type.Null()]) },
  V2('reply', 'The home of the active session, or null when no session is active.'),
);
export const LogoutResult = message(
  'logout_result',
  { id: RequestId, sid: SessionId, exit_code: Type.Union([Type.Integer(), Type.Null()]) },
  V2('reply', 'The session is closed; exit_code of its leader (null when killed by a signal or unknown).'),
);

// ---- events ----

export const SessionEvent = event('session', { session: SessionRecord }, 'A session was created or changed state.');
export const LockEventV2 = event('lock', { session: SessionRecord }, 'A session was locked: show the lock screen for it.');
export const SessionEndedEvent = event(
  'session_ended',
  {
    sid: SessionId,
    uid: Uid,
    username: Username,
    vt: Vt,
    exit_code: Type.Union([Type.Integer(), Type.Null()]),
    reason: Type.Union([Type.Literal('exited'), Type.Literal('crashed'), Type.Literal('logout'), Type.Literal('failed'), Type.Literal('lost')]),
  },
  'A session ended and was cleaned up: greeterd returns to the greeter.',
);
export const HomeEvent = event(
  'home',
  { uid: Uid, uri: Str(4096), mount: Type.Union([Str(4096), Type.Null()]), persistent: Type.Boolean(), open: Type.Boolean() },
  "A user's home was opened (open true) or closed (open false).",
);

/** Every v2 message of the session sockets besides the shared envelope. */
export const SESSION_V2_MESSAGES = [
  SessionHelloOk, SessionSubscribe, SessionSubscribeOk, CreateSession, ListSessions, GetSession, CurrentSession,
  CurrentHome, Lock, LockAll, Unlock, Activate, Logout, ReportActivity, PrepareSleep, SessionResult, SessionsResult,
  CurrentSessionResult, HomeResult, LogoutResult, SessionEvent, LockEventV2, SessionEndedEvent, HomeEvent,
];

/**
 * What redbear-sessiond hands redbear-session-launch on stdin (one JSON object, then EOF).
 * Never contains a secret. Paths are real paths (already mapped under --root).
 */
export const SessionLaunchSpec = Type.Object(
  {
    sid: SessionId,
    uid: Uid,
    gid: Uid,
    username: Username,
    home: Str(4096),
    shell: Str(4096),
    vt: Vt,
    seat: Str(64),
    /** /etc/group of the root, for the supplementary groups. */
    group_file: Str(4096),
    runtime_dir: Str(4096),
    log_file: Str(4096),
    /** argv of the session command (e.g. ["redbear-kde-session"]). */
    command: Type.Array(Str(4096), { minItems: 1, maxItems: 64 }),
    /** Absolute path of dbus-run-session; null or missing file → run the command directly (logged). */
    dbus_run_session: Type.Union([Str(4096), Type.Null()]),
    /** Validation-only session: run a bounded self-check instead of the command. */
    validation: Type.Boolean(),
    validation_timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000 }),
  },
  { additionalProperties: false },
);
export type SessionLaunchSpec = Static<typeof SessionLaunchSpec>;
