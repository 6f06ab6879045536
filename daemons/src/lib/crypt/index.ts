/** Password hash verification and hashing for redbear-authd. See docs/accounts/password-hashes.md. */
export { BusyError, MalformedHashError, PoolClosedError, UnsupportedHashError, WorkerCrashedError } from './errors.js';
export { identifyScheme, type HashScheme } from './scheme.js';
export {
  ARGON2ID_DEFAULTS,
  calibrateSha512Rounds,
  hashPassword,
  SHA512_CALIBRATION_TARGET_MS,
  verifyPassword,
  type CryptCallOptions,
  type HashPasswordOptions,
} from './password.js';
export { parseShaCryptSetting, sha256crypt, sha512crypt, type ShaCryptSetting } from './sha-crypt.js';
export { CryptWorkerPool, closeCryptPool, getCryptPool, type CryptPoolOptions, type CryptResult } from './worker-pool.js';
export type { CryptWorkerInfo, ShaCryptBackend, ShaCryptImplementation } from './worker-protocol.js';
export { LIBXCRYPT_CANDIDATES, loadLibxcrypt, libxcryptLoadError, type Libxcrypt, type LibxcryptLoadOptions } from './libxcrypt.js';
