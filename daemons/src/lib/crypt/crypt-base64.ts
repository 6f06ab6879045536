/**
 * The crypt(3) "base64": alphabet `./0-9A-Za-z`, little-endian groups of 24 bits, with the
 * byte permutations of Drepper's SHA-crypt specification.
 */

export const CRYPT_B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Byte triples (b2, b1, b0) for SHA-512: i, i+21, i+42 rotated left by i % 3; then the lone byte 63. */
const SHA512_ORDER: readonly number[] = (() => {
  const out: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t = [i, i + 21, i + 42];
    const r = i % 3; // rotate left by r
    out.push(t[r]!, t[(r + 1) % 3]!, t[(r + 2) % 3]!);
  }
  return out;
})();

/** Byte triples for SHA-256: i, i+10, i+20 rotated right by i % 3; then bytes 31, 30. */
const SHA256_ORDER: readonly number[] = (() => {
  const out: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = [i, i + 10, i + 20];
    const r = i % 3; // rotate right by r
    out.push(t[(3 - r) % 3]!, t[(4 - r) % 3]!, t[(5 - r) % 3]!);
  }
  return out;
})();

function push24(out: string[], b2: number, b1: number, b0: number, n: number): void {
  let w = (b2 << 16) | (b1 << 8) | b0;
  for (let k = 0; k < n; k++) {
    out.push(CRYPT_B64[w & 0x3f]!);
    w >>>= 6;
  }
}

/** Encode a 64-byte SHA-512 digest as the 86-character crypt string. */
export function encodeSha512Digest(d: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < SHA512_ORDER.length; i += 3) {
    push24(out, d[SHA512_ORDER[i]!]!, d[SHA512_ORDER[i + 1]!]!, d[SHA512_ORDER[i + 2]!]!, 4);
  }
  push24(out, 0, 0, d[63]!, 2);
  return out.join('');
}

/** Encode a 32-byte SHA-256 digest as the 43-character crypt string. */
export function encodeSha256Digest(d: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < SHA256_ORDER.length; i += 3) {
    push24(out, d[SHA256_ORDER[i]!]!, d[SHA256_ORDER[i + 1]!]!, d[SHA256_ORDER[i + 2]!]!, 4);
  }
  push24(out, 0, d[31]!, d[30]!, 3);
  return out.join('');
}

/** Encode arbitrary bytes in the crypt alphabet (3 bytes → 4 chars), for generating salts. */
export function encodeCryptB64(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = Math.min(3, bytes.length - i);
    push24(out, bytes[i + 2] ?? 0, bytes[i + 1] ?? 0, bytes[i]!, n + 1);
  }
  return out.join('');
}
