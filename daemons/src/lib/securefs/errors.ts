/** Error codes of the SecureFS store. Stable strings: callers switch on them. */
export type SecureFsErrorCode =
  | 'integrity' // authentication failed: tampering, corruption, wrong key, swapped or stale object
  | 'rollback' // the whole store (index) is older than the last checkpoint held outside the store
  | 'not_found'
  | 'exists'
  | 'not_dir'
  | 'is_dir'
  | 'is_symlink' // the path is a symbolic link where a file was needed (the store never follows links)
  | 'not_empty'
  | 'invalid_path'
  | 'invalid_argument'
  | 'locked' // the key provider refused (session locked / logged out)
  | 'closed' // the store was closed
  | 'unsupported_version'
  | 'not_persistent' // persistence was required but the backing filesystem is volatile
  | 'io';

/** The precise kind of an integrity problem (also used by `verifyStore`). */
export type ProblemKind =
  | 'config_mac'
  | 'config_missing'
  | 'store_id_mismatch'
  | 'index_auth'
  | 'index_format'
  | 'epoch_rollback'
  | 'checkpoint_mismatch'
  | 'bad_magic'
  | 'downgrade'
  | 'unsupported'
  | 'header_tag'
  | 'chunk_tag'
  | 'truncation'
  | 'extra_chunk'
  | 'size_mismatch'
  | 'swapped'
  | 'stale_version'
  | 'missing_object'
  | 'unknown_object'
  | 'orphan'
  | 'tmp_leftover';

export interface ErrorDetail {
  kind?: ProblemKind;
  /** Store path (POSIX) the error relates to, when known. */
  path?: string;
  /** On-disk object (relative to the store dir), when known. */
  object?: string;
  /** Chunk index, when the error is about one chunk. */
  chunk?: number;
}

export class SecureFsError extends Error {
  readonly code: SecureFsErrorCode;
  readonly kind: ProblemKind | undefined;
  readonly path: string | undefined;
  readonly object: string | undefined;
  readonly chunk: number | undefined;

  constructor(code: SecureFsErrorCode, message: string, detail: ErrorDetail = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecureFsError';
    this.code = code;
    this.kind = detail.kind;
    this.path = detail.path;
    this.object = detail.object;
    this.chunk = detail.chunk;
  }

  /** A copy of this error with more context filled in (never overrides existing fields). */
  withDetail(detail: ErrorDetail): SecureFsError {
    const e = new SecureFsError(
      this.code,
      this.message,
      {
        kind: this.kind ?? detail.kind,
        path: this.path ?? detail.path,
        object: this.object ?? detail.object,
        chunk: this.chunk ?? detail.chunk,
      },
      { cause: this.cause },
    );
    e.stack = this.stack;
    return e;
  }
}

export function integrity(kind: ProblemKind, message: string, detail: Omit<ErrorDetail, 'kind'> = {}): SecureFsError {
  return new SecureFsError('integrity', message, { ...detail, kind });
}

export function isSecureFsError(e: unknown, code?: SecureFsErrorCode): e is SecureFsError {
  return e instanceof SecureFsError && (code === undefined || e.code === code);
}
