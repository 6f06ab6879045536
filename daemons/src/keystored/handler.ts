import { ProtocolError, type Message } from '@redbear/protocol';
import type { RequestHandler } from '@redbear/protocol/node';
import type { ProtectorKind } from './crypto.js';
import type { Keystore, Purpose, Scope } from './keystore.js';

const str = (m: Message, k: string): string => m[k] as string;
const num = (m: Message, k: string): number => m[k] as number;
const bytes = (m: Message, k: string): Buffer => Buffer.from(m[k] as string, 'base64');

/** Map validated keystore v2 requests to the Keystore (the server already checked every field). */
export function keystoreHandler(ks: Keystore): RequestHandler {
  return async (m) => {
    switch (m.type) {
      case 'get_challenge':
        return ks.getChallenge(num(m, 'uid'), str(m, 'purpose') as Purpose, m.protector as ProtectorKind | undefined);
      case 'enroll':
        return ks.enroll(num(m, 'uid'), str(m, 'username'), str(m, 'sealed'), (m.sealed_pin as string | null) ?? null);
      case 'unlock':
        return ks.unlock(num(m, 'uid'), str(m, 'protector') as ProtectorKind, str(m, 'sealed'));
      case 'open_session':
        return ks.openSession(str(m, 'grant'), str(m, 'session_id'), m.scopes as Scope[] | undefined);
      case 'session_info':
        return ks.sessionInfo(str(m, 'token'));
      case 'close_session':
        return ks.closeSession(str(m, 'token'));
      case 'lock_session':
        return ks.lockSession(str(m, 'token'));
      case 'lock_user':
        return ks.lockUser(num(m, 'uid'));
      case 'file_key':
        return ks.fileKey(str(m, 'token'), str(m, 'file_id'), num(m, 'key_gen'));
      case 'index_key':
        return ks.indexKey(str(m, 'token'));
      case 'checkpoint':
        return ks.checkpoint(str(m, 'token'), num(m, 'epoch'), str(m, 'index_hash'));
      case 'last_checkpoint':
        return ks.lastCheckpoint(str(m, 'token'));
      case 'sign':
        return ks.sign(str(m, 'token'), bytes(m, 'data'));
      case 'verify':
        return ks.verify(num(m, 'uid'), bytes(m, 'data'), bytes(m, 'signature'));
      case 'seal':
        return ks.seal(str(m, 'token'), bytes(m, 'data'));
      case 'unseal':
        return ks.unseal(str(m, 'token'), bytes(m, 'blob'));
      case 'rewrap':
        return ks.rewrap(num(m, 'uid'), str(m, 'old_sealed'), str(m, 'new_sealed'));
      case 'set_pin':
        return ks.setPin(num(m, 'uid'), str(m, 'sealed'), (m.pin_sealed as string | null) ?? null);
      case 'reset_with_recovery':
        return ks.resetWithRecovery(num(m, 'uid'), str(m, 'recovery_sealed'), str(m, 'new_sealed'));
      case 'destroy':
        return ks.destroy(num(m, 'uid'));
      case 'status':
        return ks.status(num(m, 'uid'));
      default:
        throw new ProtocolError('unknown_type', `keystored does not handle ${String(m.type).slice(0, 64)}`);
    }
  };
}
