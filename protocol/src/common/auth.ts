import { Type } from '@sinclair/typebox';
import { event, helloOk, V2, subscribe } from './envelope.js';
import { UserSummary, Strength } from './greeter.js';
import { message, RequestId, Str, LooseUsername, Username, Secret, Uid, Vt, Base64 } from './schema-kit.js';

/** Version 2 of the auth socket (greeterd, sessiond, nx-user ↔ redbear-authd; 0600 root). */

export const AuthHelloOk = helloOk({}, 'Version 2 accepted.');
export const AUTH_EVENTS = ['users_changed'] as const;
export const { Subscribe: AuthSubscribe, SubscribeOk: AuthSubscribeOk } = subscribe(AUTH_EVENTS);

export const Purpose = Type.Union([Type.Literal('login'), Type.Literal('unlock')]);

export const Authenticate = message(
  'authenticate',
  { id: RequestId, username: LooseUsername, password: Secret, vt: Vt, purpose: Purpose, session_id: Type.Optional(Str(64)) },
  V2('request', 'Verify a password; on success unlock the keystore domain and return a single-use approval.'),
);
export const AuthenticatePin = message(
  'authenticate_pin',
  { id: RequestId, username: LooseUsername, pin: Secret, vt: Vt, purpose: Purpose, session_id: Type.Optional(Str(64)) },
  V2('request', 'Verify a PIN (stricter throttling).'),
);
export const AuthenticateResult = message(
  'authenticate_result',
  {
    id: RequestId,
    uid: Uid,
    username: Username,
    approval: Str(128),
    expires_in_ms: Type.Integer({ minimum: 0 }),
  },
  V2('reply', 'A single-use approval bound to uid, VT and purpose, valid for expires_in_ms.'),
);
export const ConsumeApproval = message(
  'consume_approval',
  { id: RequestId, approval: Str(128), vt: Vt, purpose: Purpose },
  V2('request', 'sessiond redeems an approval (once) for the account it names.'),
);
export const ApprovalResult = message(
  'approval_result',
  {
    id: RequestId,
    uid: Uid,
    gid: Uid,
    username: Username,
    full_name: Str(256),
    home: Str(4096),
    shell: Str(4096),
    purpose: Purpose,
    session_id: Type.Optional(Str(64)),
    keystore_grant: Type.Union([Str(256), Type.Null()]),
  },
  V2('reply', 'The approved account; keystore_grant opens a keystore session when the domain was unlocked.'),
);

export const AuthListUsers = message('list_users', { id: RequestId }, V2('request', 'Human users for the greeter; never a hash.'));
export const AuthListUsersResult = message('list_users_result', { id: RequestId, users: Type.Array(UserSummary, { maxItems: 1000 }) }, V2('reply', 'The user list.'));
export const AuthGetAvatar = message('get_avatar', { id: RequestId, username: Username }, V2('request', "A user's picture from ~/.face or AccountsService."));
export const AuthAvatarResult = message(
  'avatar_result',
  { id: RequestId, mime: Type.Union([Type.Literal('image/png'), Type.Literal('image/jpeg'), Type.Literal('image/svg+xml')]), data_base64: Base64(48 * 1024) },
  V2('reply', 'Size-limited picture.'),
);
export const FirstBootStatus = message('first_boot_status', { id: RequestId }, V2('request', 'Whether any human user exists.'));
export const FirstBootStatusResult = message('first_boot_status_result', { id: RequestId, first_boot: Type.Boolean() }, V2('reply', 'True while no human user exists.'));

export const AuthCreateFirstUser = message(
  'create_first_user',
  { id: RequestId, username: Username, full_name: Str(256), password: Secret, pin: Type.Optional(Type.String({ pattern: '^[0-9]{4,12}$' })) },
  V2('request', 'OOBE: create the first admin user, checked under the account lock.'),
);
export const AddUser = message(
  'add_user',
  { id: RequestId, username: Username, full_name: Str(256), password: Secret, admin: Type.Boolean() },
  V2('request', 'Create a user (nx-user add).'),
);
export const CreateUserResult = message(
  'create_user_result',
  { id: RequestId, uid: Uid, username: Username, recovery_key: Type.Union([Str(256), Type.Null()]), strength: Strength },
  V2('reply', 'The new account; recovery_key is shown once (null when no keystore is configured).'),
);
export const ChangePassword = message(
  'change_password',
  { id: RequestId, username: LooseUsername, old_password: Type.Optional(Secret), new_password: Secret },
  V2('request', 'Change a password. old_password is required unless the caller is an administrative tool on the root socket.'),
);
export const DeleteUser = message('delete_user', { id: RequestId, username: Username, remove_home: Type.Boolean() }, V2('request', 'Delete a user (and crypto-shred the keystore record).'));
export const LockUser = message('lock_user', { id: RequestId, username: Username }, V2('request', 'Lock the account (usermod -L).'));
export const UnlockUser = message('unlock_user', { id: RequestId, username: Username }, V2('request', 'Unlock the account (usermod -U).'));
export const SetPin = message(
  'set_pin',
  { id: RequestId, username: Username, password: Secret, pin: Type.Union([Type.String({ pattern: '^[0-9]{4,12}$' }), Type.Null()]) },
  V2('request', 'Enable, change (pin) or remove (null) the PIN after verifying the password.'),
);
export const PowerActionV2 = message(
  'power_action',
  { id: RequestId, action: Type.Union([Type.Literal('shutdown'), Type.Literal('reboot')]) },
  V2('request', 'Shut down or reboot through the configured command.'),
);
export const PowerResultV2 = message('power_result', { id: RequestId, ok: Type.Boolean(), message: Str(1024) }, V2('reply', 'Outcome of power_action.'));

export const AuthUsersChanged = event('users_changed', {}, 'An account was added, removed, locked or changed.');

/** Every v2 message of the auth socket besides the shared envelope. */
export const AUTH_V2_MESSAGES = [
  AuthHelloOk, AuthSubscribe, AuthSubscribeOk, Authenticate, AuthenticatePin, AuthenticateResult, ConsumeApproval,
  ApprovalResult, AuthListUsers, AuthListUsersResult, AuthGetAvatar, AuthAvatarResult, FirstBootStatus,
  FirstBootStatusResult, AuthCreateFirstUser, AddUser, CreateUserResult, ChangePassword, DeleteUser, LockUser,
  UnlockUser, SetPin, PowerActionV2, PowerResultV2, AuthUsersChanged,
];
