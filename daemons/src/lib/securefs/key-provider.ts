import { hkdfSync } from 'node:crypto';
import { SecureFsError } from './errors.js';

/** The last index commit recorded outside the store (keystored). */
export interface IndexCheckpoint {
  epoch: number;
  indexHash: Buffer;
}

/**
 * Where a store gets its keys. keystored implements it over its socket; `umkKeyProvider` is the
 * local reference implementation of the SECUREFS.md hierarchy. Every method may reject (e.g. the
 * session is locked): the store maps that to `SecureFsError('locked')`.
 * Returned key Buffers are owned by the caller (the store zeroes them on close).
 */
export interface KeyProvider {
  /** 16-byte id of the store these keys belong to (also written in sfs.conf and the index). */
  readonly storeId: Buffer;
  /** file_key = HKDF(K_root[keyGen], salt = file_id, "SFS/v1/file-key"). */
  fileKey(fileId: Buffer, keyGen: number): Promise<Buffer>;
  /** K_index = HKDF(UMK, salt = store_id, "SFS/v1/index"). */
  indexKey(): Promise<Buffer>;
  /** Record the committed index epoch and SHA-256 of the index bytes (monotonic). */
  checkpoint?(epoch: number, indexHash: Buffer): Promise<void>;
  /** The last recorded checkpoint, or null if none was ever recorded. */
  lastCheckpoint?(): Promise<IndexCheckpoint | null>;
  /** Forget key material held by the provider. */
  close?(): void;
}

export const STORE_ID_LEN = 16;
export const FILE_ID_LEN = 16;
const KEY_LEN = 32;

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer | string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, typeof info === 'string' ? Buffer.from(info) : info, KEY_LEN));
}

export function deriveContentRoot(umk: Buffer, storeId: Buffer, keyGen: number): Buffer {
  const info = Buffer.alloc(19 + 4);
  info.write('SFS/v1/content-root', 0, 'latin1');
  info.writeUInt32BE(keyGen, 19);
  return hkdf(umk, storeId, info);
}

export function deriveFileKey(contentRoot: Buffer, fileId: Buffer): Buffer {
  return hkdf(contentRoot, fileId, 'SFS/v1/file-key');
}

export function deriveIndexKey(umk: Buffer, storeId: Buffer): Buffer {
  return hkdf(umk, storeId, 'SFS/v1/index');
}

/** K_htag = HKDF(file_key, salt = "", "SFS/v1/header-tag"). */
export function deriveHeaderTagKey(fileKey: Buffer): Buffer {
  return hkdf(fileKey, Buffer.alloc(0), 'SFS/v1/header-tag');
}

/** K_cfg = HKDF(K_index, salt = "", "SFS/v1/config-mac") (deviation: derived below K_index, see docs). */
export function deriveConfigKey(indexKey: Buffer): Buffer {
  return hkdf(indexKey, Buffer.alloc(0), 'SFS/v1/config-mac');
}

/** Holds the last checkpoint in memory (tests, nx-home). keystored persists its own copy. */
export class MemoryCheckpointHolder {
  private last: IndexCheckpoint | null = null;

  async checkpoint(epoch: number, indexHash: Buffer): Promise<void> {
    if (this.last && epoch < this.last.epoch) {
      throw new SecureFsError('rollback', `checkpoint epoch ${epoch} is below the recorded ${this.last.epoch}`, {
        kind: 'epoch_rollback',
      });
    }
    this.last = { epoch, indexHash: Buffer.from(indexHash) };
  }

  async lastCheckpoint(): Promise<IndexCheckpoint | null> {
    return this.last ? { epoch: this.last.epoch, indexHash: Buffer.from(this.last.indexHash) } : null;
  }
}

export interface UmkKeyProviderOptions {
  /** Where checkpoints go; omit to get a store without whole-store rollback protection. */
  checkpoints?: MemoryCheckpointHolder | null;
}

/** The reference key hierarchy of SECUREFS.md computed locally from a 32-byte UMK. */
export function umkKeyProvider(umk: Buffer, storeId: Buffer, opts: UmkKeyProviderOptions = {}): KeyProvider {
  if (umk.length !== KEY_LEN) throw new SecureFsError('invalid_argument', 'UMK must be 32 bytes');
  if (storeId.length !== STORE_ID_LEN) throw new SecureFsError('invalid_argument', 'store id must be 16 bytes');
  const secret = Buffer.from(umk);
  const roots = new Map<number, Buffer>();
  let closed = false;
  const live = (): void => {
    if (closed) throw new SecureFsError('locked', 'key provider is closed');
  };
  const cp = opts.checkpoints === undefined ? new MemoryCheckpointHolder() : opts.checkpoints;
  const provider: KeyProvider = {
    storeId: Buffer.from(storeId),
    async fileKey(fileId, keyGen) {
      live();
      if (fileId.length !== FILE_ID_LEN) throw new SecureFsError('invalid_argument', 'file id must be 16 bytes');
      if (!Number.isInteger(keyGen) || keyGen < 1 || keyGen > 0xffffffff) {
        throw new SecureFsError('invalid_argument', `bad key generation ${keyGen}`);
      }
      let root = roots.get(keyGen);
      if (!root) {
        root = deriveContentRoot(secret, storeId, keyGen);
        roots.set(keyGen, root);
      }
      return deriveFileKey(root, fileId);
    },
    async indexKey() {
      live();
      return deriveIndexKey(secret, storeId);
    },
    close() {
      closed = true;
      secret.fill(0);
      for (const r of roots.values()) r.fill(0);
      roots.clear();
    },
  };
  if (cp) {
    provider.checkpoint = (epoch, hash) => cp.checkpoint(epoch, hash);
    provider.lastCheckpoint = () => cp.lastCheckpoint();
  }
  return provider;
}
