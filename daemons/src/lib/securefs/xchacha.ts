import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hchacha20 } from './hchacha20.js';

export const TAG_LEN = 16;
export const XNONCE_LEN = 24;

/** ChaCha20-Poly1305 (IETF) seal: returns [ciphertext, tag]. */
export function ietfSeal(key: Buffer, nonce12: Buffer, pt: Buffer, aad: Buffer): [Buffer, Buffer] {
  const c = createCipheriv('chacha20-poly1305', key, nonce12, { authTagLength: TAG_LEN });
  c.setAAD(aad, { plaintextLength: pt.length });
  const ct = c.update(pt);
  c.final();
  return [ct, c.getAuthTag()];
}

/**
 * ChaCha20-Poly1305 (IETF) open. Returns the plaintext only after `final()` verified the tag,
 * or null. node:crypto's `update()` hands out unauthenticated bytes; they are wiped on failure
 * and never escape this function.
 */
export function ietfOpen(key: Buffer, nonce12: Buffer, ct: Buffer, tag: Buffer, aad: Buffer): Buffer | null {
  if (tag.length !== TAG_LEN) return null;
  const d = createDecipheriv('chacha20-poly1305', key, nonce12, { authTagLength: TAG_LEN });
  d.setAAD(aad, { plaintextLength: ct.length });
  d.setAuthTag(tag);
  const pt = d.update(ct);
  try {
    d.final();
  } catch {
    pt.fill(0);
    return null;
  }
  return pt;
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
