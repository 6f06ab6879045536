/**
 * SecureFS: an encrypted per-user store (XChaCha20-Poly1305, per-file HKDF keys, STREAM-style
 * chunks with a final flag, an encrypted index with an externally checkpointed epoch).
 * Format and protocol: docs/accounts/securefs-home.md.
 */
export { SecureFsError, isSecureFsError } from './errors.js';
export type { SecureFsErrorCode, ProblemKind, ErrorDetail } from './errors.js';
export { hchacha20 } from './hchacha20.js';
export { xchachaSeal, xchachaOpen } from './xchacha.js';
export { selectAead, chunkAead, opensslAeadError } from './aead.js';
export type { AeadBackendChoice, AeadBackendName } from './aead.js';
export {
  umkKeyProvider,
  MemoryCheckpointHolder,
  deriveContentRoot,
  deriveFileKey,
  deriveIndexKey,
  deriveHeaderTagKey,
  deriveConfigKey,
} from './key-provider.js';
export type { KeyProvider, IndexCheckpoint, UmkKeyProviderOptions } from './key-provider.js';
export { SecureStore, createStore, openStore } from './store.js';
export type { CreateStoreOptions, OpenStoreOptions, WriteOptions, StoreStat, ListEntry, ReadStreamOptions, FileWriter, FileReader } from './store.js';
export { verifyStore } from './verify.js';
export type { Problem, VerifyReport } from './verify.js';
export { detectPersistence } from './persistence.js';
export type { PersistenceInfo } from './persistence.js';
export { normalizePath } from './paths.js';
export { objectRelPath, CONF_FILE, INDEX_FILE } from './layout.js';
export { chunkCount, objectSize } from './content-object.js';
export type { CryptoStats } from './content-object.js';
export { HEADER_LEN, CHUNK_SIZE } from './header.js';
