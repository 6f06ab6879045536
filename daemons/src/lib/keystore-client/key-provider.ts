import { ProtocolError } from '@redbear/protocol';
import { SecureFsError, type IndexCheckpoint, type KeyProvider } from '../securefs/index.js';
import type { KeystoreClient } from './client.js';

/** Map keystored's refusals to the SecureFS error codes the store understands. */
function mapError(e: unknown, what: string): never {
  if (e instanceof ProtocolError) {
    if (e.code === 'integrity') throw new SecureFsError('rollback', `keystored refused ${what}: ${e.message}`, { kind: 'epoch_rollback' }, { cause: e });
    throw new SecureFsError('locked', `keystored refused ${what}: ${e.code}: ${e.message}`, {}, { cause: e });
  }
  throw e;
}

/**
 * A SecureFS KeyProvider over keystored's socket: every file key, the index key and the
 * checkpoints come from keystored against a session token (scope `home`). The UMK never leaves
 * keystored. `storeId` is the hex store id from open_session / session_info.
 */
export function remoteKeyProvider(client: KeystoreClient, token: string, storeIdHex: string): KeyProvider {
  const storeId = Buffer.from(storeIdHex, 'hex');
  if (storeId.length !== 16) throw new SecureFsError('invalid_argument', 'store id must be 16 bytes');
  let closed = false;
  const live = (): void => {
    if (closed) throw new SecureFsError('locked', 'key provider is closed');
  };
  return {
    storeId,
    async fileKey(fileId, keyGen) {
      live();
      return client.fileKey(token, fileId, keyGen).catch((e: unknown) => mapError(e, 'a file key'));
    },
    async indexKey() {
      live();
      return client.indexKey(token).catch((e: unknown) => mapError(e, 'the index key'));
    },
    async checkpoint(epoch, indexHash) {
      live();
      await client.checkpoint(token, epoch, indexHash).catch((e: unknown) => mapError(e, 'the checkpoint'));
    },
    async lastCheckpoint(): Promise<IndexCheckpoint | null> {
      live();
      return client.lastCheckpoint(token).catch((e: unknown) => mapError(e, 'the last checkpoint'));
    },
    close() {
      closed = true;
    },
  };
}

/** Look the session up first (nx-home gets only a token). */
export async function remoteKeyProviderForToken(client: KeystoreClient, token: string): Promise<KeyProvider> {
  const info = await client.sessionInfo(token);
  return remoteKeyProvider(client, token, info.storeId);
}
