import { nodeAead } from './aead.js';
import { hchacha20 } from './hchacha20.js';

export const TAG_LEN = 16;
export const XNONCE_LEN = 24;

/** ChaCha20-Poly1305 (IETF) seal with node:crypto: returns [ciphertext, tag]. */
export function ietfSeal(key: Buffer, nonce12: Buffer, pt: Buffer, aad: Buffer): [Buffer, Buffer] {
  const ct = Buffer.allocUnsafe(pt.length);
  const tag = Buffer.alloc(TAG_LEN);
  nodeAead.seal(key, nonce12, aad, pt, ct, tag);
  return [ct, tag];
}

/**
 * ChaCha20-Poly1305 (IETF) open with node:crypto. Returns the plaintext only after the tag
 * verified, or null (unauthenticated bytes are wiped and never escape).
 */
export function ietfOpen(key: Buffer, nonce12: Buffer, ct: Buffer, tag: Buffer, aad: Buffer): Buffer | null {
  if (tag.length !== TAG_LEN) return null;
  const pt = Buffer.allocUnsafe(ct.length);
  return nodeAead.open(key, nonce12, aad, ct, tag, pt) ? pt : null;
}

/** The XChaCha20 subkey and the 12-byte IETF nonce for a 24-byte XChaCha nonce. */
export function xchachaSplit(key: Buffer, nonce24: Buffer): { subkey: Buffer; nonce12: Buffer } {
  if (nonce24.length !== XNONCE_LEN) throw new RangeError('xchacha: nonce must be 24 bytes');
  const subkey = hchacha20(key, nonce24.subarray(0, 16));
  const nonce12 = Buffer.alloc(12);
  nonce24.copy(nonce12, 4, 16, 24);
  return { subkey, nonce12 };
}

/** XChaCha20-Poly1305 seal (draft-irtf-cfrg-xchacha): returns ciphertext ‖ tag. */
export function xchachaSeal(key: Buffer, nonce24: Buffer, pt: Buffer, aad: Buffer): Buffer {
  const { subkey, nonce12 } = xchachaSplit(key, nonce24);
  try {
    const [ct, tag] = ietfSeal(subkey, nonce12, pt, aad);
    return Buffer.concat([ct, tag]);
  } finally {
    subkey.fill(0);
  }
}

/** XChaCha20-Poly1305 open of ciphertext ‖ tag; null when authentication fails. */
export function xchachaOpen(key: Buffer, nonce24: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < TAG_LEN) return null;
  const { subkey, nonce12 } = xchachaSplit(key, nonce24);
  try {
    const ct = sealed.subarray(0, sealed.length - TAG_LEN);
    const tag = sealed.subarray(sealed.length - TAG_LEN);
    return ietfOpen(subkey, nonce12, ct, tag, aad);
  } finally {
    subkey.fill(0);
  }
}
