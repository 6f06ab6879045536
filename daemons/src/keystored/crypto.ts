import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, hkdfSync, randomBytes, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import type { KdfParams } from '../lib/keystore-client/index.js';

/**
 * keystored's own key derivations. The SecureFS hierarchy (content roots, file keys, K_index) is
 * NOT here: it comes from daemons/src/lib/securefs so both sides use exactly the same labels.
 */

export const UMK_LEN = 32;
export const STORE_ID_LEN = 16;
export const PROTECTOR_ID_LEN = 16;
export const PEPPER_LEN = 32;

export type ProtectorKind = 'password' | 'pin' | 'recovery';

function hkdf(ikm: Buffer, salt: Buffer, info: string | Buffer, len = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, typeof info === 'string' ? Buffer.from(info, 'utf8') : info, len));
}

/** The canonical binding of one wrap: everything a downgrade or a swap would change. */
export function wrapAad(uid: number, storeIdHex: string, kind: ProtectorKind, protectorIdHex: string, kdf: KdfParams | null): Buffer {
  const k = kdf ? [kdf.alg, kdf.salt, kdf.memory_kib, kdf.time_cost, kdf.parallelism] : null;
  return Buffer.from(JSON.stringify(['RBKS/v1/wrap', uid, storeIdHex, kind, protectorIdHex, k]), 'utf8');
}

/** KEK = HKDF-SHA256(ikm = unlock_secret ‖ device pepper, salt = protector id, info = "RBKS/v1/kek" ‖ AAD). */
export function deriveKek(secret: Buffer, pepper: Buffer, protectorId: Buffer, aad: Buffer): Buffer {
  const ikm = Buffer.concat([secret, pepper]);
  try {
    return hkdf(ikm, protectorId, Buffer.concat([Buffer.from('RBKS/v1/kek\0'), aad]));
  } finally {
    ikm.fill(0);
  }
}

/** AES-256-GCM wrap of the UMK: returns nonce (12) and ciphertext ‖ tag (48). */
export function wrapUmk(kek: Buffer, umk: Buffer, aad: Buffer): { nonce: Buffer; wrapped: Buffer } {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, nonce);
  c.setAAD(aad);
  const wrapped = Buffer.concat([c.update(umk), c.final(), c.getAuthTag()]);
  return { nonce, wrapped };
}

/** AES-256-GCM open; the plaintext is released only after the tag checked (else null, zeroed). */
function gcmOpen(key: Buffer, nonce: Buffer, aad: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | null {
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  const out = d.update(ciphertext);
  try {
    d.final();
    return out;
  } catch {
    out.fill(0);
    return null;
  }
}

/** The UMK, or null when the KEK or the binding is wrong. */
export function unwrapUmk(kek: Buffer, nonce: Buffer, wrapped: Buffer, aad: Buffer): Buffer | null {
  if (wrapped.length !== UMK_LEN + 16 || nonce.length !== 12) return null;
  return gcmOpen(kek, nonce, aad, wrapped.subarray(0, UMK_LEN), wrapped.subarray(UMK_LEN));
}

// ---- per-user signing (Ed25519) and sealing keys, derived from the UMK ----

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export function deriveSigningKey(umk: Buffer, storeId: Buffer): { privateKey: KeyObject; publicKey: Buffer } {
  const seed = hkdf(umk, storeId, 'RBKS/v1/sign-ed25519');
  const der = Buffer.concat([PKCS8_ED25519, seed]);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    return { privateKey, publicKey: Buffer.from(spki.subarray(spki.length - 32)) };
  } finally {
    seed.fill(0);
    der.fill(0);
  }
}

export function signData(key: KeyObject, data: Buffer): Buffer {
  return edSign(null, data, key);
}

export function verifyData(publicKey: Buffer, data: Buffer, signature: Buffer): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const pk = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
    return edVerify(null, data, pk, signature);
  } catch {
    return false;
  }
}

export function deriveSealKey(umk: Buffer, storeId: Buffer): Buffer {
  return hkdf(umk, storeId, 'RBKS/v1/seal');
}

function sealAad(uid: number, storeId: Buffer): Buffer {
  const u = Buffer.alloc(4);
  u.writeUInt32BE(uid);
  return Buffer.concat([Buffer.from('RBKS/v1/seal\0'), u, storeId]);
}

/** Blob = 0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16), AAD = label ‖ uid ‖ store id. */
export function sealBlob(key: Buffer, uid: number, storeId: Buffer, data: Buffer): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(sealAad(uid, storeId));
  return Buffer.concat([Buffer.from([1]), nonce, c.update(data), c.final(), c.getAuthTag()]);
}

export function unsealBlob(key: Buffer, uid: number, storeId: Buffer, blob: Buffer): Buffer | null {
  if (blob.length < 29 || blob[0] !== 1) return null;
  return gcmOpen(key, blob.subarray(1, 13), sealAad(uid, storeId), blob.subarray(13, blob.length - 16), blob.subarray(blob.length - 16));
}
