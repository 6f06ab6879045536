/**
 * Typed errors of the crypt library. Every failure that is not "wrong password" is one of these,
 * so callers (redbear-authd) can tell an operator problem from a failed login.
 */

/** The hash uses a scheme this library refuses or cannot compute (e.g. md5crypt, bcrypt, DES). */
export class UnsupportedHashError extends Error {
  override readonly name = 'UnsupportedHashError';
  /** Human-readable scheme name, e.g. `"md5crypt ($1$)"`. */
  readonly scheme: string;
  constructor(scheme: string, detail?: string) {
    super(`unsupported password hash scheme: ${scheme}${detail ? ` (${detail})` : ''}`);
    this.scheme = scheme;
  }
}

/** The scheme is known but the string is not a well-formed hash/setting for it. */
export class MalformedHashError extends Error {
  override readonly name = 'MalformedHashError';
  readonly scheme: string;
  constructor(scheme: string, detail: string) {
    super(`malformed ${scheme} hash: ${detail}`);
    this.scheme = scheme;
  }
}

/** The worker pool's queue is full; the caller should fail the request (or retry later). */
export class BusyError extends Error {
  override readonly name = 'BusyError';
  readonly queued: number;
  constructor(queued: number) {
    super(`crypt worker pool is busy (${queued} tasks queued)`);
    this.queued = queued;
  }
}

/** The pool was closed before or while the task ran. */
export class PoolClosedError extends Error {
  override readonly name = 'PoolClosedError';
  constructor() {
    super('crypt worker pool is closed');
  }
}

/** The worker running the task died (crashed, or was terminated after `timeoutMs`). It has been replaced. */
export class WorkerCrashedError extends Error {
  override readonly name = 'WorkerCrashedError';
  readonly reason: 'crash' | 'timeout';
  constructor(reason: 'crash' | 'timeout', detail: string) {
    super(`crypt worker ${reason === 'timeout' ? 'timed out' : 'crashed'}: ${detail}`);
    this.reason = reason;
  }
}
