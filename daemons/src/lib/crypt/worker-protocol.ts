/** Messages between the crypt worker pool (main thread) and its workers. */

/**
 * Who computes `$5$`/`$6$`: `libxcrypt` (crypt_rn, what pam_unix uses), `builtin` (our TypeScript
 * sha-crypt on node:crypto) or `auto` (libxcrypt when it loads in the worker, else builtin).
 */
export type ShaCryptBackend = 'auto' | 'libxcrypt' | 'builtin';
/** The implementation that actually computed a SHA-crypt string. */
export type ShaCryptImplementation = 'libxcrypt' | 'builtin';

/** Fixed for the life of a worker; passed as `workerData.crypt`. */
export interface CryptWorkerOptions {
  /** Library paths for loadLibxcrypt (default LIBXCRYPT_CANDIDATES); `[]` = libxcrypt unavailable. */
  libxcryptCandidates?: readonly string[];
  /**
   * Raise this worker thread's nice value to this (Linux, per thread; 0 = leave it). KDF work then
   * yields the CPU to the daemon's event loop, which stays responsive while verifications run.
   */
  nice?: number;
}

/** What a worker reports about itself (`probe`). */
export interface CryptWorkerInfo {
  /** Path/soname libxcrypt loaded from, or null. */
  libxcrypt: string | null;
  /** Why libxcrypt did not load (null when it did). */
  libxcryptError: string | null;
  /** Linux thread id of the worker (null when unknown). */
  tid: number | null;
  /** The worker thread's nice value after start-up (null when unknown). */
  nice: number | null;
}

export type CryptRequestBody =
  /**
   * Compute a crypt string. `password` is a private copy whose ArrayBuffer is transferred, or (a task posted ahead) a view of a SharedArrayBuffer; the worker zeroes it.
   * `backend` (SHA-crypt ops only) overrides the pool's default.
   */
  | { op: 'sha512crypt' | 'sha256crypt'; password: Uint8Array; setting: string; backend?: ShaCryptBackend }
  | { op: 'xcrypt'; password: Uint8Array; setting: string }
  /** libxcrypt crypt_gensalt_rn. */
  | { op: 'xgensalt'; prefix: string; count: number; rbytes: Uint8Array }
  /** Report CryptWorkerInfo (as JSON in `value`). */
  | { op: 'probe' }
  /** Test hook: make the worker exit abruptly (exercises crash recovery). */
  | { op: 'exit'; code: number };

export type CryptRequest = CryptRequestBody & { id: number };

export type CryptResponse =
  | { id: number; ok: true; value: string; elapsedMs: number; /** SHA-crypt ops: who computed it. */ backend?: ShaCryptImplementation }
  | { id: number; ok: false; code: 'malformed' | 'unsupported' | 'error'; scheme: string; message: string };
