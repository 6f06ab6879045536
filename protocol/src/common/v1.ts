import { Type } from '@sinclair/typebox';
import { message, RequestId, Str, LooseUsername, Secret, Vt } from './schema-kit.js';

/**
 * Version 1: the Red Bear `redbear-login-protocol` message set, byte-compatible.
 * Field order in replies follows Red Bear's structs; clients open one connection per request.
 */

import { GREETER_STATES_V1 } from './states.js';
export { GREETER_STATES_V1, type GreeterStateV1 } from './states.js';
export const GreeterStateV1Schema = Type.Union(GREETER_STATES_V1.map((s) => Type.Literal(s)));

const V1 = (direction: 'request' | 'reply', description: string) => ({ direction, since: 1 as const, description });

// --- greeter socket (/run/redbear-greeterd.sock) ---
export const HelloV1 = message('hello', { version: Type.Integer({ minimum: 0, maximum: 1000 }) }, V1('request', 'Open a session with greeterd; version selects the protocol.'));
export const HelloOkV1 = message(
  'hello_ok',
  {
    background: Str(4096),
    icon: Str(4096),
    session_name: Str(256),
    state: GreeterStateV1Schema,
    message: Str(1024),
  },
  V1('reply', 'Assets at installed paths, the one session, and the current state.'),
);
export const SubmitLoginV1 = message('submit_login', { username: LooseUsername, password: Secret }, V1('request', 'Log in with a password.'));
export const LoginResultV1 = message(
  'login_result',
  { ok: Type.Boolean(), state: GreeterStateV1Schema, message: Str(1024) },
  V1('reply', 'Outcome of submit_login.'),
);
export const RequestShutdownV1 = message('request_shutdown', {}, V1('request', 'Power off the machine.'));
export const RequestRebootV1 = message('request_reboot', {}, V1('request', 'Reboot the machine.'));
export const ActionResultV1 = message('action_result', { ok: Type.Boolean(), message: Str(1024) }, V1('reply', 'Outcome of a power request.'));
export const ErrorV1 = message('error', { message: Str(1024) }, V1('reply', 'Any failure on a v1 connection.'));

// --- auth socket (/run/redbear-authd.sock) ---
export const AuthenticateV1 = message(
  'authenticate',
  { request_id: RequestId, username: LooseUsername, password: Secret, vt: Vt },
  V1('request', 'Verify a password for a login on a VT.'),
);
export const AuthenticateResultV1 = message(
  'authenticate_result',
  { request_id: RequestId, ok: Type.Boolean(), message: Str(1024) },
  V1('reply', 'Outcome of authenticate.'),
);
export const StartSessionV1 = message(
  'start_session',
  { request_id: RequestId, username: LooseUsername, session: Str(64), vt: Vt },
  V1('request', 'Start the session of a user authenticated on this VT.'),
);
export const SessionResultV1 = message(
  'session_result',
  { request_id: RequestId, ok: Type.Boolean(), exit_code: Type.Union([Type.Integer(), Type.Null()]), message: Str(1024) },
  V1('reply', 'Outcome of start_session: exit code of the session once it ended.'),
);
export const PowerActionV1 = message(
  'power_action',
  { request_id: RequestId, action: Type.Union([Type.Literal('shutdown'), Type.Literal('reboot')]) },
  V1('request', 'Shut down or reboot.'),
);
export const PowerResultV1 = message(
  'power_result',
  { request_id: RequestId, ok: Type.Boolean(), message: Str(1024) },
  V1('reply', 'Outcome of power_action.'),
);
