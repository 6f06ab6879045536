import { ProtocolError, session as proto, type Message } from '@redbear/protocol';
import type { PeerCred, RequestHandler } from '@redbear/protocol/node';
import type { SessionManager } from './manager.js';
import { toRecord, type SessionData } from './session.js';

/**
 * The wire side of sessiond. The root socket (0600) serves everything; the query socket (0666)
 * serves only `SESSION_QUERY_REQUESTS` (and subscribe, handled by the server). Who may call
 * what: docs/accounts/session-lifecycle.md.
 */
const QUERY: ReadonlySet<string> = new Set(proto.SESSION_QUERY_REQUESTS);

/** Root socket: only uid 0 (when SO_PEERCRED is available; the socket is 0600 root either way). */
export function authorizeRoot(peer: PeerCred | null): boolean {
  return peer === null || peer.uid === 0;
}

function str(m: Message, k: string): string {
  return m[k] as string;
}

function home(s: SessionData | undefined): Record<string, unknown> | null {
  if (!s) return null;
  return { uid: s.uid, uri: s.home_uri, mount: s.home_mount, persistent: s.home_persistent, open: s.home_open };
}

export function sessionHandler(mgr: SessionManager, readOnly: boolean): RequestHandler {
  return async (m) => {
    if (readOnly && !QUERY.has(m.type)) throw new ProtocolError('unauthorized', `${m.type} is not served on the query socket`);
    switch (m.type) {
      case 'list_sessions':
        return { type: 'sessions_result', sessions: mgr.list().map(toRecord) };
      case 'get_session':
        return { type: 'session_result', session: toRecord(mgr.get(str(m, 'sid'))) };
      case 'current_session': {
        const s = mgr.current();
        return { type: 'current_session_result', session: s ? toRecord(s) : null };
      }
      case 'current_home':
        return { type: 'home_result', home: home(mgr.current()) };
      case 'create_session':
        return { type: 'session_result', session: toRecord(await mgr.login(str(m, 'approval'), m.vt as number)) };
      case 'lock':
        return { type: 'session_result', session: toRecord(await mgr.lock(str(m, 'sid'))) };
      case 'lock_all':
        return { type: 'sessions_result', sessions: (await mgr.lockAll()).map(toRecord) };
      case 'unlock':
        return { type: 'session_result', session: toRecord(await mgr.unlock(str(m, 'sid'), str(m, 'approval'), false)) };
      case 'activate':
        return { type: 'session_result', session: toRecord(await mgr.unlock(str(m, 'sid'), str(m, 'approval'), true)) };
      case 'logout': {
        const sid = str(m, 'sid');
        return { type: 'logout_result', sid, exit_code: await mgr.logout(sid) };
      }
      case 'report_activity':
        mgr.reportActivity(typeof m.sid === 'string' ? m.sid : undefined);
        return { type: 'ok' };
      case 'prepare_sleep':
        return { type: 'sessions_result', sessions: (await mgr.prepareSleep()).map(toRecord) };
      default:
        throw new ProtocolError('unknown_type', `unknown request ${m.type}`);
    }
  };
}
