import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeConfig, encodeConfig, readConfigRaw } from './config.js';
import { SecureFsError } from './errors.js';
import { CHUNK_LOG2, FORMAT_VERSION, SUITE_XCHACHA_HKDF_HMAC } from './header.js';
import { decodeIndex, encodeIndex, indexHash, type IndexState } from './index-file.js';
import { deriveConfigKey, STORE_ID_LEN, type KeyProvider } from './key-provider.js';
import { atomicWrite, CONF_FILE, ensureDir, INDEX_FILE, OBJECTS_DIR, TMP_DIR } from './layout.js';
import { detectPersistence, type PersistenceInfo } from './persistence.js';
import { fromProvider } from './store-core.js';

export interface OpenedIndex {
  kIndex: Buffer;
  state: IndexState;
  keyGen: number;
  /** True when the provider keeps checkpoints (whole-store rollback is detected). */
  rollbackProtected: boolean;
  /** Set when the index was one epoch ahead of the checkpoint (crash before checkpoint). */
  checkpointAdvanced: boolean;
}

export interface CreateStoreOptions {
  /** Content-root generation for new files (default 1). */
  keyGen?: number;
  /** Refuse (code `not_persistent`) when the directory is on tmpfs/ramfs/unknown storage. */
  requirePersistent?: boolean;
}

export async function checkPersistence(dir: string, require: boolean | undefined): Promise<PersistenceInfo> {
  const p = await detectPersistence(dir);
  if (require && !p.persistent) throw new SecureFsError('not_persistent', `store at ${dir} is not persistent: ${p.reason}`);
  return p;
}

function checkProvider(keys: KeyProvider): void {
  if (!Buffer.isBuffer(keys.storeId) || keys.storeId.length !== STORE_ID_LEN) {
    throw new SecureFsError('invalid_argument', 'key provider storeId must be a 16-byte Buffer');
  }
}

/** Lay out a new store: dirs, index at epoch 1, then sfs.conf (its presence marks the store). */
export async function initStore(dir: string, keys: KeyProvider, opts: CreateStoreOptions): Promise<void> {
  checkProvider(keys);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await stat(join(dir, CONF_FILE)).catch(() => null)) {
    throw new SecureFsError('exists', `a SecureFS store already exists at ${dir}`);
  }
  await ensureDir(join(dir, OBJECTS_DIR), dir);
  await ensureDir(join(dir, TMP_DIR), dir);
  const kIndex = await fromProvider('the index key', () => keys.indexKey());
  const kCfg = deriveConfigKey(kIndex);
  try {
    const idx = encodeIndex({ epoch: 1, entries: new Map() }, kIndex, keys.storeId);
    await atomicWrite(dir, INDEX_FILE, idx, dir);
    const conf = {
      format: FORMAT_VERSION,
      suite: SUITE_XCHACHA_HKDF_HMAC,
      chunkLog2: CHUNK_LOG2,
      storeId: keys.storeId.toString('hex'),
      keyGen: opts.keyGen ?? 1,
    };
    await atomicWrite(dir, CONF_FILE, encodeConfig(conf, kCfg), dir);
    if (keys.checkpoint) await fromProvider('the index checkpoint', () => keys.checkpoint!(1, indexHash(idx)));
  } finally {
    kIndex.fill(0);
    kCfg.fill(0);
  }
}

/**
 * Authenticate sfs.conf and the index, then compare the index with the checkpoint held outside
 * the store: older epoch, or same epoch with another hash, or more than one epoch ahead → rollback.
 */
export async function loadIndex(dir: string, keys: KeyProvider, opts: { advanceCheckpoint: boolean }): Promise<OpenedIndex> {
  checkProvider(keys);
  const confRaw = await readConfigRaw(dir);
  const kIndex = await fromProvider('the index key', () => keys.indexKey());
  const kCfg = deriveConfigKey(kIndex);
  try {
    const conf = decodeConfig(confRaw, kCfg, keys.storeId.toString('hex'));
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, INDEX_FILE));
    } catch {
      throw new SecureFsError('integrity', 'index.sfsi is missing', { kind: 'index_format', object: INDEX_FILE });
    }
    const state = decodeIndex(bytes, kIndex, keys.storeId);
    const hash = indexHash(bytes);
    let checkpointAdvanced = false;
    const rollbackProtected = Boolean(keys.lastCheckpoint && keys.checkpoint);
    if (rollbackProtected) {
      const cp = await fromProvider('the last checkpoint', () => keys.lastCheckpoint!());
      const d = { object: INDEX_FILE };
      if (cp && state.epoch < cp.epoch) {
        throw new SecureFsError('rollback', `index epoch ${state.epoch} is older than checkpoint ${cp.epoch}: the store was rolled back`, {
          ...d,
          kind: 'epoch_rollback',
        });
      }
      if (cp && state.epoch === cp.epoch && !hash.equals(cp.indexHash)) {
        throw new SecureFsError('rollback', `index at epoch ${state.epoch} differs from the checkpointed one`, {
          ...d,
          kind: 'checkpoint_mismatch',
        });
      }
      if (cp && state.epoch > cp.epoch + 1) {
        throw new SecureFsError('rollback', `index epoch ${state.epoch} is ahead of checkpoint ${cp.epoch} by more than one commit`, {
          ...d,
          kind: 'checkpoint_mismatch',
        });
      }
      if (!cp || state.epoch === cp.epoch + 1) {
        checkpointAdvanced = true;
        if (opts.advanceCheckpoint) await fromProvider('the index checkpoint', () => keys.checkpoint!(state.epoch, hash));
      }
    }
    return { kIndex, state, keyGen: conf.keyGen, rollbackProtected, checkpointAdvanced };
  } catch (e) {
    kIndex.fill(0);
    throw e;
  } finally {
    kCfg.fill(0);
  }
}
