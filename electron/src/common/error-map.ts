import type { ErrorCode as WireCode } from '@redbear/protocol';
import type { ui } from '@redbear/protocol';

type UiCode = ui.ErrorCode;

/** Map a daemon error code to what the UI understands (the UI localises per code). */
export function uiCode(code: WireCode, verb: string): UiCode {
  switch (code) {
    case 'auth_failed':
    case 'rate_limited':
    case 'password_expired':
    case 'password_change_required':
    case 'account_locked':
    case 'account_disabled':
    case 'account_expired':
    case 'unavailable':
    case 'bad_request':
    case 'weak_password':
    case 'not_first_boot':
      return code;
    case 'no_password':
    case 'unsupported_hash':
      return 'account_disabled';
    case 'exists':
      return 'username_taken';
    case 'approval_invalid':
      return 'invalid_token';
    case 'not_found':
      return verb === 'unlock' ? 'session_not_found' : 'auth_failed';
    case 'timeout':
    case 'busy':
      return 'unavailable';
    default:
      return 'internal';
  }
}
