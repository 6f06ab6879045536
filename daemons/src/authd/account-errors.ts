import { ProtocolError } from '@redbear/protocol';
import { isAccountError, type AccountStateReason, type AccountsConfig } from '../lib/accounts/index.js';
import { BusyError, MalformedHashError, UnsupportedHashError } from '../lib/crypt/index.js';
import type { AuthdConfig } from './config.js';

/** The account library's options as authd's configuration sets them. */
export function accountsConfig(cfg: AuthdConfig): AccountsConfig {
  return {
    adminGroup: cfg.accounts.admin_group,
    defaultShell: cfg.accounts.default_shell,
    homeBase: cfg.accounts.home_base,
    lockTimeoutMs: cfg.accounts.lock_timeout_ms,
  };
}

const STATE_ERRORS: Record<AccountStateReason, [ProtocolError['code'], string]> = {
  locked: ['account_locked', 'the account is locked'],
  no_password: ['no_password', 'the account has no password'],
  disabled_shell: ['account_disabled', 'the account may not log in (its shell is disabled)'],
  account_expired: ['account_expired', 'the account has expired'],
  password_change_required: ['password_change_required', 'the password must be changed'],
  password_expired: ['password_expired', 'the password has expired and must be changed'],
  inactive: ['account_expired', 'the password expired too long ago; the account is inactive'],
};

export function stateError(reason: AccountStateReason): ProtocolError {
  const [code, message] = STATE_ERRORS[reason];
  return new ProtocolError(code, message);
}

/** Map library errors to the wire; anything unknown is rethrown (and becomes `internal`). */
export function toProtocolError(e: unknown): ProtocolError {
  if (e instanceof ProtocolError) return e;
  if (e instanceof UnsupportedHashError) {
    return new ProtocolError('unsupported_hash', `the stored password hash uses an unsupported scheme (${e.scheme}); re-set the password (nx-user passwd)`, {
      scheme: e.scheme.slice(0, 64),
    });
  }
  if (e instanceof MalformedHashError) return new ProtocolError('unsupported_hash', `the stored ${e.scheme} hash is malformed; re-set the password`, { scheme: e.scheme.slice(0, 64) });
  if (e instanceof BusyError) return new ProtocolError('busy', 'authd is busy verifying other passwords; try again', { retry_after_ms: 250 });
  if (isAccountError(e)) {
    switch (e.code) {
      case 'exists':
        return new ProtocolError('exists', e.message);
      case 'not_found':
        return new ProtocolError('not_found', e.message);
      case 'invalid_username':
        return new ProtocolError('bad_request', e.message, { field: '/username' });
      case 'invalid_full_name':
        return new ProtocolError('bad_request', e.message, { field: '/full_name' });
      case 'invalid_hash':
      case 'invalid_shell':
      case 'invalid_home':
      case 'invalid_group':
      case 'invalid_uid':
        return new ProtocolError('bad_request', e.message);
      case 'passwordless':
        return new ProtocolError('no_password', e.message);
      case 'protected':
        return new ProtocolError('unauthorized', e.message);
      case 'uid_exhausted':
        return new ProtocolError('conflict', e.message);
      case 'lock_timeout':
        return new ProtocolError('busy', 'the account files are locked by another program; try again', { retry_after_ms: 1000 });
      case 'corrupt_file':
        return new ProtocolError('integrity', e.message);
      case 'missing_file':
      case 'io':
        return new ProtocolError('internal', 'cannot access the account files');
    }
  }
  throw e;
}
