import { Type, type Static } from '@sinclair/typebox';
import { event, helloOk, Ok, V2, subscribe } from './envelope.js';
import { message, RequestId, Str, LooseUsername, Username, Secret, Uid } from './schema-kit.js';
import { GREETER_STATES } from './states.js';

/** Version 2 of the greeter socket (UI ↔ redbear-greeterd), a superset of v1. */

/** v1's eight states plus TASK-0224's first-boot setup and lock screen. */
export { GREETER_STATES, type GreeterState } from './states.js';
export const GreeterStateSchema = Type.Union(GREETER_STATES.map((s) => Type.Literal(s)));

export const UserSummary = Type.Object(
  {
    username: Username,
    full_name: Str(256),
    uid: Uid,
    has_pin: Type.Boolean(),
    locked: Type.Boolean(),
    has_avatar: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** One entry of authd's `list_users` reply. */
export type UserSummaryWire = Static<typeof UserSummary>;

/** What sessiond says about a user's open session (greeter list only; authd never sends it). */
export const UserSessionState = Type.Union([Type.Literal('locked'), Type.Literal('active')]);

/** A user as the greeter lists it: authd's summary plus the user's open session, if any. */
export const GreeterUserSummary = Type.Object(
  {
    ...UserSummary.properties,
    session: Type.Optional(UserSessionState),
  },
  { additionalProperties: false },
);

/** One entry of greeterd's `list_users` reply. */
export type GreeterUserWire = Static<typeof GreeterUserSummary>;

/** Why greeterd changed state, when the UI should say something about it (`state` event). */
export const STATE_REASONS = ['power_no_effect'] as const;
export const StateReasonSchema = Type.Union(STATE_REASONS.map((r) => Type.Literal(r)));

export const LockedSession = Type.Object(
  {
    session_id: Str(64),
    username: Username,
    full_name: Str(256),
    uid: Uid,
    locked_at_ms: Type.Integer({ minimum: 0 }),
    has_pin: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const Strength = Type.Object(
  { score: Type.Integer({ minimum: 0, maximum: 4 }), warning: Type.Optional(Str(256)) },
  { additionalProperties: false },
);

export const GreeterHelloOk = helloOk(
  {
    background: Str(4096),
    icon: Str(4096),
    session_name: Str(256),
    state: GreeterStateSchema,
    message: Str(1024),
    first_boot: Type.Boolean(),
    hostname: Str(255),
    lock: Type.Optional(LockedSession),
  },
  'v1 fields plus first_boot and hostname.',
);

export const GREETER_EVENTS = ['state', 'lock', 'unlock', 'users_changed', 'rate_limit'] as const;
export const { Subscribe: GreeterSubscribe, SubscribeOk: GreeterSubscribeOk } = subscribe(GREETER_EVENTS);

export const ListUsers = message('list_users', { id: RequestId }, V2('request', 'Human users to show on the greeter.'));
export const ListUsersResult = message(
  'list_users_result',
  { id: RequestId, users: Type.Array(GreeterUserSummary, { maxItems: 1000 }) },
  V2('reply', "The user list; `session` is the user's open session per sessiond (`locked`: logging in as the user unlocks it)."),
);
export const GetAvatar = message('get_avatar', { id: RequestId, username: Username }, V2('request', "A user's picture."));
export const AvatarResult = message(
  'avatar_result',
  { id: RequestId, mime: Type.Union([Type.Literal('image/png'), Type.Literal('image/jpeg'), Type.Literal('image/svg+xml')]), data_base64: Str(48 * 1024) },
  V2('reply', 'Size-limited picture, base64.'),
);

export const SubmitLoginV2 = message('submit_login', { id: RequestId, username: LooseUsername, password: Secret }, V2('request', 'Log in with a password.'));
export const SubmitPin = message('submit_pin', { id: RequestId, username: LooseUsername, pin: Secret }, V2('request', 'Log in with a PIN.'));
export const LoginResultV2 = message(
  'login_result',
  { id: RequestId, ok: Type.Literal(true), state: GreeterStateSchema, message: Str(1024), uid: Uid },
  V2('reply', 'The session started. Failures are error replies with a code.'),
);
export const ChangeExpiredPassword = message(
  'change_password',
  { id: RequestId, username: LooseUsername, old_password: Secret, new_password: Secret },
  V2('request', 'Change an expired password after verifying the old one.'),
);

export const CreateFirstUser = message(
  'create_first_user',
  { id: RequestId, full_name: Str(256), username: Username, password: Secret, pin: Type.Optional(Type.String({ pattern: '^[0-9]{4,12}$' })) },
  V2('request', 'First-boot setup: create the first (admin) user. Only while no human user exists.'),
);
export const CreateFirstUserResult = message(
  'create_first_user_result',
  { id: RequestId, uid: Uid, username: Username, recovery_key: Str(256), strength: Strength, continue_token: Str(128), continue_token_ttl_ms: Type.Integer({ minimum: 0 }) },
  V2('reply', 'The recovery key is shown once; continue_token starts the session without a second prompt.'),
);
export const StartFirstSession = message('start_first_session', { id: RequestId, continue_token: Str(128) }, V2('request', 'Log the new user in with the password given at creation.'));

export const Unlock = message(
  'unlock',
  { id: RequestId, session_id: Str(64), secret: Secret, kind: Type.Union([Type.Literal('password'), Type.Literal('pin')]) },
  V2('request', 'Unlock a locked session with a fresh secret.'),
);
export const SwitchUser = message('switch_user', { id: RequestId }, V2('request', 'From the lock screen to the user list; the locked session stays locked.'));
export const RequestShutdownV2 = message('request_shutdown', { id: RequestId }, V2('request', 'Power off.'));
export const RequestRebootV2 = message('request_reboot', { id: RequestId }, V2('request', 'Reboot.'));
export const ActionResultV2 = message('action_result', { id: RequestId, ok: Type.Boolean(), message: Str(1024) }, V2('reply', 'Outcome of a power request.'));
export const ReportScreen = message(
  'report_screen',
  {
    id: RequestId,
    screen: Type.Union([Type.Literal('oobe'), Type.Literal('greeter'), Type.Literal('lock'), Type.Literal('fatal')]),
    session_id: Type.Optional(Str(64)),
    step: Type.Optional(Str(64)),
    locale: Type.Optional(Str(64)),
    username: Type.Optional(Str(64)),
    reason: Type.Optional(Str(64)),
    user_count: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
    high_contrast: Type.Optional(Type.Boolean()),
    large_text: Type.Optional(Type.Boolean()),
  },
  V2('request', 'The UI actually rendered this screen (markers are printed from this).'),
);
export const ReportActivity = message('report_activity', { id: RequestId }, V2('request', 'User input seen (idle-lock timer).'));

export const StateEvent = event(
  'state',
  { state: GreeterStateSchema, message: Str(1024), reason: Type.Optional(StateReasonSchema) },
  'The greeterd state changed. `reason` power_no_effect: a power command succeeded but the machine stayed up (power_settle_timeout_ms); back on the screen it came from.',
);
export const LockEvent = event('lock', { session: LockedSession }, 'Show the lock screen for this session.');
export const UnlockEvent = event('unlock', { session_id: Str(64) }, 'A locked session was unlocked or ended: drop its lock screen.');
export const UsersChangedEvent = event('users_changed', {}, 'The user list changed.');
export const RateLimitEvent = event('rate_limit', { username: Str(256), retry_after_ms: Type.Integer({ minimum: 0 }) }, 'Logins for this user wait this long.');

export { Ok };

/** Every v2 message of the greeter socket besides the shared envelope. */
export const GREETER_V2_MESSAGES = [
  GreeterHelloOk, GreeterSubscribe, GreeterSubscribeOk, ListUsers, ListUsersResult, GetAvatar, AvatarResult,
  SubmitLoginV2, SubmitPin, LoginResultV2, ChangeExpiredPassword, CreateFirstUser, CreateFirstUserResult,
  StartFirstSession, Unlock, SwitchUser, RequestShutdownV2, RequestRebootV2, ActionResultV2, ReportScreen,
  ReportActivity, StateEvent, LockEvent, UnlockEvent, UsersChangedEvent, RateLimitEvent,
];
