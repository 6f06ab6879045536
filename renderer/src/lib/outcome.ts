import type { Failure } from '../../../protocol/src/common/ui-api';
import type { MessageKey } from '../i18n/en';

export interface FailureView {
  key: MessageKey;
  /** Epoch ms until which submitting is pointless (rate limiting). */
  throttleUntil?: number;
  /** The greeter should switch to the change-password form. */
  changePassword?: boolean;
}

/** Map a daemon failure to the localised message the UI shows. */
export function describeFailure(f: Failure, now: number, failedKey: MessageKey = 'status.failed'): FailureView {
  const retry = typeof f.retryAfterMs === 'number' && f.retryAfterMs > 0 ? now + Math.min(f.retryAfterMs, 24 * 3600_000) : undefined;
  const withRetry = (v: FailureView): FailureView => (retry === undefined ? v : { ...v, throttleUntil: retry });
  switch (f.code) {
    case 'auth_failed':
    case 'rate_limited':
      return withRetry({ key: failedKey });
    case 'password_expired':
      return { key: 'status.passwordExpired', changePassword: true };
    case 'password_change_required':
      return { key: 'status.passwordChangeRequired', changePassword: true };
    case 'account_locked':
      return withRetry({ key: 'status.accountLocked' });
    case 'account_disabled':
      return { key: 'status.accountDisabled' };
    case 'account_expired':
      return { key: 'status.accountExpired' };
    case 'unavailable':
      return withRetry({ key: 'status.unavailable' });
    case 'bad_request':
    case 'invalid_username':
      return { key: 'status.badRequest' };
    case 'session_not_found':
      return { key: 'status.sessionGone' };
    default:
      return { key: 'status.internal' };
  }
}
