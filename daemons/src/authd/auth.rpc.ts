import { ProtocolError, type Message } from '@redbear/protocol';
import type { RequestContext, RequestHandler, ServerConnection } from '@redbear/protocol/node';
import { getUser } from '../lib/accounts/index.js';
import { secretFromString, wipe, type Logger } from '../runtime/index.js';
import { toProtocolError } from './account-errors.js';
import type { AccountAdmin } from './admin.js';
import type { Approvals, Purpose } from './approvals.js';
import type { Authenticator } from './authenticator.js';
import { describe, runCommand } from './commands.js';
import type { AuthdConfig } from './config.js';
import type { Power, PowerAction } from './power.js';
import type { UserDirectory } from './user-directory.js';

export interface RpcDeps {
  root: string;
  cfg: AuthdConfig;
  auth: Authenticator;
  admin: AccountAdmin;
  approvals: Approvals;
  directory: UserDirectory;
  power: Power;
  log: Logger;
}

type Reply = Record<string, unknown> & { type: string };

/** Throttling key of a connection: the peer process (SO_PEERCRED), else the connection. */
export function clientKey(conn: ServerConnection): string {
  return conn.peer ? `${conn.peer.uid}:${conn.peer.pid}` : `conn:${conn.id}`;
}

const str = (m: Message, k: string): string => m[k] as string;
const int = (m: Message, k: string): number => m[k] as number;

/** Secrets arrive as JSON strings: turn them into Buffers at once and zero them after the request. */
async function withSecrets<T>(values: Array<string | null | undefined>, fn: (bufs: Array<Buffer | null>) => Promise<T>): Promise<T> {
  const bufs = values.map((v) => (typeof v === 'string' ? secretFromString(v) : null));
  try {
    return await fn(bufs);
  } finally {
    wipe(...bufs);
  }
}

/** Decode → authorise → delegate → encode, for v1 and v2 messages of the auth socket. */
export function makeHandler(d: RpcDeps): RequestHandler {
  return async (m: Message, ctx: RequestContext): Promise<Reply | null> => {
    return ctx.version === 1 ? v1(d, m, ctx) : v2(d, m, ctx);
  };
}

async function v2(d: RpcDeps, m: Message, ctx: RequestContext): Promise<Reply> {
  const client = clientKey(ctx.connection);
  switch (m.type) {
    case 'authenticate':
    case 'authenticate_pin': {
      const kind = m.type === 'authenticate' ? 'password' : 'pin';
      return withSecrets([str(m, kind === 'password' ? 'password' : 'pin')], async ([secret]) => {
        const r = await d.auth.login({
          username: str(m, 'username'),
          secret: secret!,
          kind,
          client,
          vt: int(m, 'vt'),
          purpose: m.purpose as Purpose,
          session_id: m.session_id as string | undefined,
        });
        return { type: 'authenticate_result', uid: r.user.passwd.uid, username: r.user.passwd.name, approval: r.approval, expires_in_ms: r.expires_in_ms };
      });
    }
    case 'consume_approval': {
      const g = d.approvals.consume(str(m, 'approval'), int(m, 'vt'), m.purpose as Purpose);
      const u = await getUser(d.root, g.username).catch((e: unknown) => {
        throw toProtocolError(e);
      });
      if (!u || u.passwd.uid !== g.uid) throw new ProtocolError('approval_invalid', 'the approved account no longer exists');
      d.log.info('approval redeemed', { user: g.username, uid: g.uid, vt: g.vt, purpose: g.purpose });
      return {
        type: 'approval_result',
        uid: g.uid,
        gid: u.passwd.gid,
        username: g.username,
        full_name: u.fullName.slice(0, 256),
        home: u.passwd.home,
        shell: u.passwd.shell,
        purpose: g.purpose,
        ...(g.session_id !== undefined ? { session_id: g.session_id } : {}),
        keystore_grant: g.keystore_grant,
      };
    }
    case 'list_users':
      return { type: 'list_users_result', users: await d.directory.list() };
    case 'get_avatar':
      return { type: 'avatar_result', ...(await d.directory.avatar(str(m, 'username'))) };
    case 'first_boot_status':
      return { type: 'first_boot_status_result', first_boot: await d.directory.isFirstBoot() };
    case 'create_first_user':
    case 'add_user': {
      const first = m.type === 'create_first_user';
      return withSecrets([str(m, 'password'), m.pin as string | undefined], async ([password, pin]) => {
        const r = await d.admin.create({
          username: str(m, 'username'),
          full_name: str(m, 'full_name'),
          password: password!,
          pin: pin ?? undefined,
          admin: first || m.admin === true,
          firstBoot: first,
        });
        return { type: 'create_user_result', ...r };
      });
    }
    case 'change_password':
      return withSecrets([m.old_password as string | undefined, str(m, 'new_password')], async ([oldPw, newPw]) => {
        await d.admin.changePassword(str(m, 'username'), oldPw ?? null, newPw!, client);
        return { type: 'ok' };
      });
    case 'delete_user':
      await d.admin.delete(str(m, 'username'), m.remove_home === true);
      return { type: 'ok' };
    case 'lock_user':
    case 'unlock_user':
      await d.admin.lock(str(m, 'username'), m.type === 'lock_user');
      return { type: 'ok' };
    case 'set_pin':
      return withSecrets([str(m, 'password'), m.pin as string | null], async ([password, pin]) => {
        await d.admin.setPin(str(m, 'username'), password!, pin ?? null, client);
        return { type: 'ok' };
      });
    case 'power_action':
      return { type: 'power_result', ...(await d.power.act(m.action as PowerAction)) };
    default:
      throw new ProtocolError('unknown_type', 'unknown request');
  }
}

/** Version 1 (Red Bear's redbear-login-protocol), one connection per request, byte-compatible replies. */
async function v1(d: RpcDeps, m: Message, ctx: RequestContext): Promise<Reply> {
  const request_id = int(m, 'request_id');
  switch (m.type) {
    case 'authenticate':
      return withSecrets([str(m, 'password')], async ([secret]) => {
        try {
          await d.auth.login({ username: str(m, 'username'), secret: secret!, kind: 'password', client: clientKey(ctx.connection), vt: int(m, 'vt'), purpose: 'login' });
          return { type: 'authenticate_result', request_id, ok: true, message: 'authenticated' };
        } catch (e) {
          const err = toProtocolError(e);
          const wait = err.extra.retry_after_ms;
          return { type: 'authenticate_result', request_id, ok: false, message: wait ? `${err.message} (retry in ${Math.ceil(wait / 1000)} s)` : err.message };
        }
      });
    case 'start_session': {
      const username = str(m, 'username');
      const vt = int(m, 'vt');
      const g = d.approvals.consumeFor(username, vt);
      if (!g) return { type: 'session_result', request_id, ok: false, exit_code: null, message: 'not authenticated on this VT' };
      const argv = d.cfg.v1.session_command;
      if (argv.length === 0) {
        return { type: 'session_result', request_id, ok: false, exit_code: null, message: 'no v1 session command is configured; sessions start through redbear-sessiond' };
      }
      const session = str(m, 'session');
      d.log.info('v1 session starting', { user: username, uid: g.uid, vt, session });
      const vars = { username, uid: String(g.uid), vt: String(vt), session };
      const r = await runCommand(argv, vars, { REDBEAR_USER: username, REDBEAR_UID: String(g.uid), REDBEAR_VT: String(vt), REDBEAR_SESSION: session }, d.cfg.v1.session_timeout_ms);
      d.log.info('v1 session ended', { user: username, result: describe(r) });
      if (r.code === null) return { type: 'session_result', request_id, ok: false, exit_code: null, message: `session ${describe(r)}` };
      return { type: 'session_result', request_id, ok: r.code === 0, exit_code: r.code, message: r.code === 0 ? 'session ended' : `session ended with ${describe(r)}` };
    }
    case 'power_action':
      return { type: 'power_result', request_id, ...(await d.power.act(m.action as PowerAction)) };
    default:
      throw new ProtocolError('unknown_type', 'unknown request');
  }
}
