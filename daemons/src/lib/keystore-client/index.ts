/**
 * The caller side of redbear-keystored: KeystoreClient (authd, sessiond, nx-home), a SecureFS
 * KeyProvider over the socket, and the wire formats shared with keystored.
 * Binding model: docs/accounts/keystore-binding.md.
 */
export { KeystoreClient, deriveUnlockSecret } from './client.js';
export type { KeystoreClientOptions, KeystoreStatus, OpenedSession, SessionInfo, ProtectorKind, KeystoreScope, KdfParams } from './client.js';
export { remoteKeyProvider, remoteKeyProviderForToken } from './key-provider.js';
export {
  formatRecoveryKey,
  parseRecoveryKey,
  encodeSealedPlain,
  decodeSealedPlain,
  ROLE,
  SEALED_LEN,
  SEALED_PLAIN_LEN,
  CHALLENGE_LEN,
  SECRET_LEN,
  RECOVERY_KEY_LEN,
} from './wire.js';
export type { Role, SealedPlain } from './wire.js';
