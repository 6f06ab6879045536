/** Messages between the crypt worker pool (main thread) and its workers. */

export type CryptRequestBody =
  /** Compute a crypt string. `password` is a private copy whose ArrayBuffer is transferred; the worker zeroes it. */
  | { op: 'sha512crypt' | 'sha256crypt' | 'xcrypt'; password: Uint8Array; setting: string }
  /** libxcrypt crypt_gensalt_rn. */
  | { op: 'xgensalt'; prefix: string; count: number; rbytes: Uint8Array }
  /** Test hook: make the worker exit abruptly (exercises crash recovery). */
  | { op: 'exit'; code: number };

export type CryptRequest =
  | (Extract<CryptRequestBody, { op: 'sha512crypt' | 'sha256crypt' | 'xcrypt' }> & { id: number })
  | (Extract<CryptRequestBody, { op: 'xgensalt' }> & { id: number })
  | (Extract<CryptRequestBody, { op: 'exit' }> & { id: number });

export type CryptResponse =
  | { id: number; ok: true; value: string; elapsedMs: number }
  | { id: number; ok: false; code: 'malformed' | 'unsupported' | 'error'; scheme: string; message: string };
