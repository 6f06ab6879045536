import { createHash } from 'node:crypto';

/**
 * Formats shared by keystored and its clients: the sealed unlock-secret payload and the
 * human form of the recovery key. Pure functions over Buffers.
 */

/** Magic of the plaintext inside a sealed box: `RBK1 ‖ role ‖ challenge(32) ‖ secret(32)`. */
export const SEALED_MAGIC = Buffer.from('RBK1', 'latin1');
export const CHALLENGE_LEN = 32;
export const SECRET_LEN = 32;
export const SEALED_PLAIN_LEN = SEALED_MAGIC.length + 1 + CHALLENGE_LEN + SECRET_LEN;
/** crypto_box_SEALBYTES = ephemeral public key (32) + MAC (16). */
export const SEALED_LEN = SEALED_PLAIN_LEN + 48;

/** What a sealed secret is for: one blob cannot be replayed in another role of the same request. */
export const ROLE = {
  /** the secret of an existing protector being proven (password, PIN or recovery key) */
  current: 1,
  /** a new password protector */
  newPassword: 2,
  /** a new PIN protector */
  newPin: 3,
} as const;
export type Role = (typeof ROLE)[keyof typeof ROLE];

export function encodeSealedPlain(role: Role, challenge: Buffer, secret: Buffer): Buffer {
  if (challenge.length !== CHALLENGE_LEN || secret.length !== SECRET_LEN) throw new Error('bad challenge or secret length');
  const out = Buffer.alloc(SEALED_PLAIN_LEN);
  SEALED_MAGIC.copy(out, 0);
  out[SEALED_MAGIC.length] = role;
  challenge.copy(out, SEALED_MAGIC.length + 1);
  secret.copy(out, SEALED_MAGIC.length + 1 + CHALLENGE_LEN);
  return out;
}

export interface SealedPlain {
  role: number;
  challenge: Buffer;
  /** A view into the plaintext buffer: zero the plaintext when done. */
  secret: Buffer;
}

export function decodeSealedPlain(plain: Buffer): SealedPlain | null {
  if (plain.length !== SEALED_PLAIN_LEN || !plain.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC)) return null;
  const o = SEALED_MAGIC.length;
  return { role: plain[o]!, challenge: plain.subarray(o + 1, o + 1 + CHALLENGE_LEN), secret: plain.subarray(o + 1 + CHALLENGE_LEN) };
}

// ---- recovery key: 32 random bytes + 3 checksum bytes, RFC 4648 base32, 14 groups of 4 ----

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const RECOVERY_KEY_LEN = 32;
const CHECK_LEN = 3;

function checksum(key: Buffer): Buffer {
  return createHash('sha256').update('RBKS/v1/recovery-check').update(key).digest().subarray(0, CHECK_LEN);
}

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** `XXXX-XXXX-…` (14 groups of 4 base32 characters; 256 bits of key and a 24-bit checksum). */
export function formatRecoveryKey(key: Buffer): string {
  if (key.length !== RECOVERY_KEY_LEN) throw new Error('recovery key must be 32 bytes');
  const s = base32(Buffer.concat([key, checksum(key)]));
  return s.match(/.{1,4}/g)!.join('-');
}

/**
 * Parse a typed recovery key: case-insensitive, dashes and whitespace ignored, 0/1/8 read as
 * O/I/B. Returns the 32-byte key (caller zeroes it) or null when it is malformed or mistyped.
 */
export function parseRecoveryKey(text: Buffer | string): Buffer | null {
  const raw = typeof text === 'string' ? text : text.toString('latin1');
  const clean = raw.toUpperCase().replace(/[\s-]/g, '').replace(/0/g, 'O').replace(/1/g, 'I').replace(/8/g, 'B');
  if (clean.length !== 56) return null;
  const bytes = Buffer.alloc(35);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) {
      bytes.fill(0);
      return null;
    }
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes[n++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  const key = Buffer.from(bytes.subarray(0, RECOVERY_KEY_LEN));
  const ok = checksum(key).equals(bytes.subarray(RECOVERY_KEY_LEN));
  bytes.fill(0);
  if (!ok) {
    key.fill(0);
    return null;
  }
  return key;
}

export function hex(b: Buffer): string {
  return b.toString('hex');
}
