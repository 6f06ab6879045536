import { createCipheriv } from 'node:crypto';

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;
const ZERO_BLOCK = Buffer.alloc(64);

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2) from node:crypto's raw ChaCha20.
 *
 * OpenSSL's `chacha20` takes a 16-byte IV that is exactly state words 12..15, i.e. the HChaCha20
 * input. Keystream block 0 = rounds(S) + S, so HChaCha20 = words {0..3, 12..15} of the keystream
 * minus the matching words of S (mod 2^32).
 */
export function hchacha20(key: Buffer, nonce16: Buffer): Buffer {
  if (key.length !== 32) throw new RangeError('hchacha20: key must be 32 bytes');
  if (nonce16.length !== 16) throw new RangeError('hchacha20: nonce must be 16 bytes');
  const ks = createCipheriv('chacha20', key, nonce16).update(ZERO_BLOCK);
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE((ks.readUInt32LE(i * 4) - SIGMA[i]!) >>> 0, i * 4);
    out.writeUInt32LE((ks.readUInt32LE(48 + i * 4) - nonce16.readUInt32LE(i * 4)) >>> 0, 16 + i * 4);
  }
  ks.fill(0);
  return out;
}
