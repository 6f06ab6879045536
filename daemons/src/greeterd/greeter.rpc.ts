import { ProtocolError } from '@redbear/protocol';
import type { RequestHandler, ServerConnection } from '@redbear/protocol/node';
import type { Logger } from '../runtime/index.js';
import type { GreeterdConfig } from './config.js';
import type { LoginOutcome, Orchestrator } from './orchestrator.js';
import { toV1State } from './state-machine.js';

/**
 * The wire of the greeter socket. v1 (Red Bear's) and v2 share the orchestrator; only the
 * reply shapes differ. Validation already happened in ProtocolServer.
 */
export interface RpcDeps {
  config: GreeterdConfig;
  orchestrator: Orchestrator;
  log: Logger;
  hostname(): string;
}

function outcomeV2(o: LoginOutcome): Record<string, unknown> {
  if (o.ok) return { type: 'login_result', ok: true, state: o.state, message: o.message, uid: o.uid };
  throw new ProtocolError(o.code, o.message, o.retry_after_ms !== undefined ? { retry_after_ms: o.retry_after_ms } : {});
}

export function greeterHandler(d: RpcDeps): RequestHandler {
  const o = d.orchestrator;
  const c = d.config;
  return async (msg, ctx) => {
    if (ctx.version === 1) {
      switch (msg.type) {
        case 'hello':
          // Field order as Red Bear's struct.
          return { type: 'hello_ok', background: c.assets.background, icon: c.assets.icon, session_name: c.session.name, state: toV1State(o.state), message: o.message };
        case 'submit_login': {
          const r = await o.login({ username: String(msg.username), secret: String(msg.password), kind: 'password' });
          return { type: 'login_result', ok: r.ok, state: toV1State(r.state), message: r.message };
        }
        case 'request_shutdown':
        case 'request_reboot': {
          const r = await o.power(msg.type === 'request_shutdown' ? 'shutdown' : 'reboot');
          return { type: 'action_result', ok: r.ok, message: r.message };
        }
      }
      throw new ProtocolError('unknown_type', 'unknown request');
    }
    switch (msg.type) {
      case 'list_users':
        return { type: 'list_users_result', users: await o.listUsers() };
      case 'get_avatar': {
        const r = await o.authRequest({ type: 'get_avatar', username: msg.username });
        return { type: 'avatar_result', mime: r.mime, data_base64: r.data_base64 };
      }
      case 'submit_login':
        return outcomeV2(await o.login({ username: String(msg.username), secret: String(msg.password), kind: 'password' }));
      case 'submit_pin':
        return outcomeV2(await o.login({ username: String(msg.username), secret: String(msg.pin), kind: 'pin' }));
      case 'unlock':
        return outcomeV2(await o.login({ username: '', secret: String(msg.secret), kind: msg.kind === 'pin' ? 'pin' : 'password', sessionId: String(msg.session_id) }));
      case 'change_password':
        await o.authRequest({ type: 'change_password', username: msg.username, old_password: msg.old_password, new_password: msg.new_password }, c.authd.auth_timeout_ms);
        return { type: 'ok' };
      case 'create_first_user':
        return o.createFirstUser({
          username: String(msg.username),
          full_name: String(msg.full_name),
          password: String(msg.password),
          ...(typeof msg.pin === 'string' ? { pin: msg.pin } : {}),
        });
      case 'start_first_session':
        return outcomeV2(await o.startFirstSession(String(msg.continue_token)));
      case 'switch_user':
        o.switchUser();
        return { type: 'ok' };
      case 'request_shutdown':
      case 'request_reboot': {
        const r = await o.power(msg.type === 'request_shutdown' ? 'shutdown' : 'reboot');
        return { type: 'action_result', ok: r.ok, message: r.message };
      }
      case 'report_screen':
        o.reportScreen(String(msg.screen));
        return { type: 'ok' };
      case 'report_activity':
        return { type: 'ok' };
    }
    throw new ProtocolError('unknown_type', 'unknown request');
  };
}

/** Extra fields of the v2 hello_ok. */
export function helloExtra(d: RpcDeps): (conn: ServerConnection) => Promise<Record<string, unknown>> {
  return async () => {
    const o = d.orchestrator;
    const lock = await o.currentLock();
    return {
      background: d.config.assets.background,
      icon: d.config.assets.icon,
      session_name: d.config.session.name,
      state: o.state,
      message: o.message,
      first_boot: o.state === 'first_boot',
      hostname: d.hostname(),
      ...(lock ? { lock } : {}),
    };
  };
}
