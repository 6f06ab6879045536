/**
 * The closed set of error codes of protocol version 2. A v1 connection only ever sees
 * `{"type":"error","message"}`; the code is still chosen from this set internally.
 */
export const ERROR_CODES = [
  // framing and validation
  'bad_request',
  'frame_too_large',
  'invalid_utf8',
  'invalid_json',
  'not_an_object',
  'unknown_type',
  'unsupported_version',
  // authorization and authentication
  'unauthorized',
  'auth_failed',
  'rate_limited',
  'password_expired',
  'password_change_required',
  'account_locked',
  'account_disabled',
  'account_expired',
  'no_password',
  'unsupported_hash',
  'approval_invalid',
  'weak_password',
  // resources and state
  'not_found',
  'exists',
  'conflict',
  'invalid_state',
  'not_first_boot',
  'keystore_locked',
  'integrity',
  // availability
  'busy',
  'timeout',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** Extra fields an error reply may carry (all optional, all schema-checked). */
export interface ErrorExtra {
  retry_after_ms?: number;
  scheme?: string;
  supported?: number[];
  field?: string;
}

/** The one error type that crosses the wire. Anything else thrown inside a handler becomes `internal`. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly extra: ErrorExtra;
  constructor(code: ErrorCode, message: string, extra: ErrorExtra = {}) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.extra = extra;
  }
}

/** Whether a stream that produced this error can still be trusted to be in sync. */
export function isFatalFramingError(code: ErrorCode): boolean {
  return code === 'frame_too_large';
}
