/** Error codes raised by the account library. Stable: callers map them to protocol errors. */
export type AccountErrorCode =
  | 'exists'
  | 'not_found'
  | 'invalid_username'
  | 'invalid_full_name'
  | 'invalid_hash'
  | 'invalid_shell'
  | 'invalid_home'
  | 'invalid_group'
  | 'invalid_uid'
  | 'passwordless'
  | 'protected'
  | 'uid_exhausted'
  | 'lock_timeout'
  | 'corrupt_file'
  | 'missing_file'
  | 'io';

export interface AccountErrorDetails {
  file?: string;
  line?: number;
  cause?: unknown;
}

export class AccountError extends Error {
  override readonly name = 'AccountError';
  readonly code: AccountErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(code: AccountErrorCode, message: string, details: AccountErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.line = details.line;
  }
}

export function isAccountError(e: unknown, code?: AccountErrorCode): e is AccountError {
  return e instanceof AccountError && (code === undefined || e.code === code);
}
