import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { integrity, SecureFsError } from './errors.js';
import { FORMAT_VERSION, SUITE_XCHACHA_HKDF_HMAC, CHUNK_LOG2 } from './header.js';
import { CONF_FILE } from './layout.js';

export interface StoreConfig {
  format: number;
  suite: number;
  chunkLog2: number;
  storeId: string;
  keyGen: number;
}

const TYPE = 'redbear-securefs';

function canonical(c: StoreConfig): string {
  return JSON.stringify({
    type: TYPE,
    format: c.format,
    suite: c.suite,
    chunk_log2: c.chunkLog2,
    store_id: c.storeId,
    key_gen: c.keyGen,
  });
}

function mac(kCfg: Buffer, c: StoreConfig): Buffer {
  return createHmac('sha256', kCfg).update(canonical(c)).digest();
}

export function encodeConfig(c: StoreConfig, kCfg: Buffer): Buffer {
  const o = JSON.parse(canonical(c)) as Record<string, unknown>;
  o.mac = mac(kCfg, c).toString('hex');
  return Buffer.from(JSON.stringify(o, null, 2) + '\n');
}

export async function readConfigRaw(dir: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, CONF_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SecureFsError('not_found', `no SecureFS store at ${dir} (sfs.conf missing)`, { kind: 'config_missing' });
    }
    throw e;
  }
}

/** Parse and authenticate sfs.conf; rejects MAC-less (downgraded) and tampered configs. */
export function decodeConfig(raw: Buffer, kCfg: Buffer, storeIdHex: string): StoreConfig {
  const d = { object: CONF_FILE };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw integrity('config_mac', 'sfs.conf is not JSON', d);
  }
  if (o.type !== TYPE) throw integrity('config_mac', 'sfs.conf is not a SecureFS config', d);
  if (typeof o.mac !== 'string') throw integrity('downgrade', 'sfs.conf carries no MAC (downgrade attempt?)', d);
  const c: StoreConfig = {
    format: Number(o.format),
    suite: Number(o.suite),
    chunkLog2: Number(o.chunk_log2),
    storeId: String(o.store_id),
    keyGen: Number(o.key_gen),
  };
  const got = Buffer.from(o.mac, 'hex');
  const want = mac(kCfg, c);
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    const lowered = c.format < FORMAT_VERSION || c.suite !== SUITE_XCHACHA_HKDF_HMAC || c.chunkLog2 !== CHUNK_LOG2;
    throw lowered
      ? integrity('downgrade', 'sfs.conf format/suite fields changed (downgrade attempt; MAC mismatch)', d)
      : integrity('config_mac', 'sfs.conf MAC mismatch (tampered, or wrong key)', d);
  }
  if (c.storeId !== storeIdHex) throw integrity('store_id_mismatch', 'sfs.conf belongs to another store', d);
  if (c.format !== FORMAT_VERSION || c.suite !== SUITE_XCHACHA_HKDF_HMAC || c.chunkLog2 !== CHUNK_LOG2) {
    throw new SecureFsError('unsupported_version', `store format ${c.format} suite ${c.suite} unsupported`, {
      ...d,
      kind: 'unsupported',
    });
  }
  if (!Number.isInteger(c.keyGen) || c.keyGen < 1) throw integrity('config_mac', 'bad key_gen in sfs.conf', d);
  return c;
}
