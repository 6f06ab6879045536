/**
 * SHA-crypt (`$5$` sha256crypt, `$6$` sha512crypt) exactly as specified by Ulrich Drepper
 * (https://www.akkadia.org/drepper/SHA-crypt.txt), computed with node:crypto.
 *
 * These functions are synchronous and CPU-bound (5000 rounds ≈ 5 ms, the calibrated default ≈ 250 ms):
 * daemons must call them through the worker pool (`verifyPassword` / `hashPassword`), never on the
 * event loop. They are exported for the worker, tests and benchmarks.
 *
 * Hot-loop optimisations: the P- and S-sequences are computed once; the 42 distinct round inputs
 * (the pattern repeats every lcm(2, 3, 7) = 42 rounds) are laid out once in one buffer with a hole for
 * the previous digest, so each round is one 32/64-byte copy plus one one-shot `crypto.hash` call
 * (no Hash object, no concatenation, digest returned as a latin1 string rather than a Buffer). Every buffer that held password-derived bytes is zeroed at the end.
 */
import * as nodeCrypto from 'node:crypto';
import { encodeSha256Digest, encodeSha512Digest } from './crypt-base64.js';
import { MalformedHashError } from './errors.js';

export const SHA_CRYPT_ROUNDS_DEFAULT = 5000;
export const SHA_CRYPT_ROUNDS_MIN = 1000;
export const SHA_CRYPT_ROUNDS_MAX = 999_999_999;
export const SHA_CRYPT_SALT_MAX = 16;

type Alg = 'sha256' | 'sha512';

interface Variant {
  alg: Alg;
  prefix: '$5$' | '$6$';
  scheme: 'sha256crypt' | 'sha512crypt';
  digestLen: 32 | 64;
  encodedLen: 43 | 86;
  encode(d: Uint8Array): string;
}

const SHA512: Variant = {
  alg: 'sha512', prefix: '$6$', scheme: 'sha512crypt', digestLen: 64, encodedLen: 86, encode: encodeSha512Digest,
};
const SHA256: Variant = {
  alg: 'sha256', prefix: '$5$', scheme: 'sha256crypt', digestLen: 32, encodedLen: 43, encode: encodeSha256Digest,
};

/** One-shot digest: `crypto.hash` (Node ≥ 20.12) avoids creating a Hash object per round. */
const digest: (alg: Alg, data: Uint8Array) => Buffer =
  typeof nodeCrypto.hash === 'function'
    ? (alg, data) => nodeCrypto.hash(alg, data, 'buffer')
    : (alg, data) => nodeCrypto.createHash(alg).update(data).digest();

/**
 * One-shot digest as a latin1 string (one char per byte). For the round loop: a 64-char one-byte
 * string is much cheaper for V8/Node to create than a Buffer (~0.9 vs ~1.5 µs per round here).
 * Round digests are not secret (the last one is the published hash), so immutable strings are fine.
 */
const digestLatin1: (alg: Alg, data: Uint8Array) => string =
  typeof nodeCrypto.hash === 'function'
    ? (alg, data) => nodeCrypto.hash(alg, data, 'binary')
    : (alg, data) => nodeCrypto.createHash(alg).update(data).digest('binary');

export interface ShaCryptSetting {
  scheme: 'sha256crypt' | 'sha512crypt';
  /** Effective rounds (clamped to [1000, 999999999]). */
  rounds: number;
  /** `rounds=` was present in the setting (and so appears in the output). */
  roundsCustom: boolean;
  /** Salt after truncation to 16 characters. */
  salt: string;
}

/**
 * Parse `$6$[rounds=N$]salt[$hash]` (or `$5$…`). Follows the spec (and glibc): rounds are clamped,
 * leading zeros are accepted, salt is everything up to the next `$`, truncated to 16 characters.
 * Stricter than glibc: `rounds=` must be decimal digits followed by `$`, and salt characters must be
 * printable ASCII (libxcrypt is stricter still: it only accepts `./0-9A-Za-z` and rejects rounds < 1000).
 */
export function parseShaCryptSetting(setting: string, variant: 'sha256crypt' | 'sha512crypt'): ShaCryptSetting {
  const v = variant === 'sha512crypt' ? SHA512 : SHA256;
  if (!setting.startsWith(v.prefix)) throw new MalformedHashError(v.scheme, `must start with ${v.prefix}`);
  let rest = setting.slice(v.prefix.length);
  let rounds = SHA_CRYPT_ROUNDS_DEFAULT;
  let roundsCustom = false;
  if (rest.startsWith('rounds=')) {
    const m = /^rounds=([0-9]+)\$/.exec(rest);
    if (!m) throw new MalformedHashError(v.scheme, 'rounds= must be followed by decimal digits and $');
    const digits = m[1]!.replace(/^0+(?=.)/, '');
    // More than 9 significant digits is above the maximum anyway (and beyond 2^53 would lose precision).
    const n = digits.length > 9 ? SHA_CRYPT_ROUNDS_MAX : Number(digits);
    rounds = Math.min(SHA_CRYPT_ROUNDS_MAX, Math.max(SHA_CRYPT_ROUNDS_MIN, n));
    roundsCustom = true;
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const salt = (end < 0 ? rest : rest.slice(0, end)).slice(0, SHA_CRYPT_SALT_MAX);
  if (!/^[\x21-\x23\x25-\x7e]*$/.test(salt)) {
    throw new MalformedHashError(v.scheme, 'salt must be printable ASCII without $');
  }
  return { scheme: v.scheme, rounds, roundsCustom, salt };
}

/** Repeat `src` cyclically into a new buffer of `len` bytes. */
function cycle(src: Uint8Array, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += src.length) out.set(src.subarray(0, Math.min(src.length, len - off)), off);
  return out;
}

/** The SHA-crypt digest of `P` with salt `S` over `rounds` rounds (Drepper steps 1–21). */
function shaCryptDigest(v: Variant, P: Uint8Array, S: Uint8Array, rounds: number): Buffer {
  const { alg, digestLen: D } = v;
  const pl = P.length;
  const sl = S.length;
  const scrub: Uint8Array[] = [];
  try {
    // Steps 4–8: digest B = H(P ‖ S ‖ P).
    const bIn = Buffer.alloc(2 * pl + sl);
    scrub.push(bIn);
    bIn.set(P, 0);
    bIn.set(S, pl);
    bIn.set(P, pl + sl);
    const B = digest(alg, bIn);
    scrub.push(B);

    // Steps 1–3, 9–12: digest A = H(P ‖ S ‖ B-repeated-to-pl ‖ (for each bit of pl: bit ? B : P)).
    let bits = 0;
    let aLen = pl + sl + pl;
    for (let n = pl; n > 0; n >>>= 1) {
      aLen += n & 1 ? D : pl;
      bits++;
    }
    const aIn = Buffer.alloc(aLen);
    scrub.push(aIn);
    let off = 0;
    aIn.set(P, off); off += pl;
    aIn.set(S, off); off += sl;
    const bRep = cycle(B, pl);
    scrub.push(bRep);
    aIn.set(bRep, off); off += pl;
    for (let n = pl, i = 0; i < bits; n >>>= 1, i++) {
      if (n & 1) { aIn.set(B, off); off += D; } else { aIn.set(P, off); off += pl; }
    }
    const A = digest(alg, aIn);
    scrub.push(A);

    // Steps 13–16: DP = H(P repeated pl times); P-sequence = DP repeated to pl bytes.
    const hp = nodeCrypto.createHash(alg);
    for (let i = 0; i < pl; i++) hp.update(P);
    const DP = hp.digest();
    scrub.push(DP);
    const Pseq = cycle(DP, pl);
    scrub.push(Pseq);

    // Steps 17–20: DS = H(S repeated 16 + A[0] times); S-sequence = DS truncated to sl bytes.
    const hs = nodeCrypto.createHash(alg);
    for (let i = 0, n = 16 + A[0]!; i < n; i++) hs.update(S);
    const DS = hs.digest();
    scrub.push(DS);
    const Sseq = DS.subarray(0, sl);

    // Step 21, precomputed: the input of round r depends only on r mod 42. Round input layout:
    //   r odd:  P [S if r%3] [P if r%7] C        r even: C [S if r%3] [P if r%7] P
    const sizes: number[] = [];
    let total = 0;
    for (let k = 0; k < 42; k++) {
      const len = D + pl + (k % 3 ? sl : 0) + (k % 7 ? pl : 0);
      sizes.push(len);
      total += len;
    }
    const arena = Buffer.alloc(total);
    scrub.push(arena);
    const inputs: Buffer[] = [];
    const holes: Buffer[] = [];
    off = 0;
    for (let k = 0; k < 42; k++) {
      const len = sizes[k]!;
      const t = arena.subarray(off, off + len);
      let p = 0;
      if (k & 1) { t.set(Pseq, p); p += pl; } else { holes.push(t.subarray(0, D)); p += D; }
      if (k % 3) { t.set(Sseq, p); p += sl; }
      if (k % 7) { t.set(Pseq, p); p += pl; }
      if (k & 1) { holes.push(t.subarray(p, p + D)); } else { t.set(Pseq, p); }
      inputs.push(t);
      off += len;
    }

    let C = A.toString('latin1');
    for (let r = 0, k = 0; r < rounds; r++) {
      holes[k]!.write(C, 0, D, 'latin1');
      C = digestLatin1(alg, inputs[k]!);
      if (++k === 42) k = 0;
    }
    return Buffer.from(C, 'latin1');
  } finally {
    for (const b of scrub) b.fill(0);
  }
}

function shaCrypt(v: Variant, password: Uint8Array, setting: string): string {
  const s = parseShaCryptSetting(setting, v.scheme);
  const saltBytes = Buffer.from(s.salt, 'latin1');
  const C = shaCryptDigest(v, password, saltBytes, s.rounds);
  try {
    return `${v.prefix}${s.roundsCustom ? `rounds=${s.rounds}$` : ''}${s.salt}$${v.encode(C)}`;
  } finally {
    C.fill(0);
  }
}

/**
 * sha512crypt (`$6$`) of `password` with `setting` (`$6$[rounds=N$]salt`, optionally followed by
 * `$hash`, which is ignored). Returns the full crypt string. Throws MalformedHashError on a bad setting.
 * Synchronous and CPU-bound: use the worker pool in daemons.
 */
export function sha512crypt(password: Uint8Array, setting: string): string {
  return shaCrypt(SHA512, password, setting);
}

/** sha256crypt (`$5$`); see {@link sha512crypt}. */
export function sha256crypt(password: Uint8Array, setting: string): string {
  return shaCrypt(SHA256, password, setting);
}

/**
 * Structural check of a complete stored `$5$`/`$6$` hash (setting + `$` + 43/86 crypt-base64
 * characters, the setting in the form crypt(3) writes: rounds clamped and without leading zeros,
 * salt at most 16 characters). Returns a reason string when malformed, or null. verifyPassword
 * applies it before either backend runs, so both backends see the same hashes.
 */
export function shaCryptHashProblem(hash: string, variant: 'sha256crypt' | 'sha512crypt'): string | null {
  const v = variant === 'sha512crypt' ? SHA512 : SHA256;
  const i = hash.lastIndexOf('$');
  if (i < v.prefix.length - 1) return 'missing hash part';
  const tail = hash.slice(i + 1);
  if (tail.length !== v.encodedLen || !/^[./0-9A-Za-z]+$/.test(tail)) {
    return `hash part must be ${v.encodedLen} crypt-base64 characters`;
  }
  try {
    const s = parseShaCryptSetting(hash.slice(0, i), v.scheme);
    if (s.roundsCustom && !hash.startsWith(`${v.prefix}rounds=${s.rounds}$`)) {
      // crypt(3) writes the clamped value without leading zeros, so no password can reproduce this
      // string (glibc computes with the clamped rounds and the comparison fails; libxcrypt refuses it).
      return `rounds= must be written as crypt(3) writes it: an integer in [${SHA_CRYPT_ROUNDS_MIN}, ${SHA_CRYPT_ROUNDS_MAX}] without leading zeros (this hash can never match)`;
    }
    const expectedPrefix = `${v.prefix}${s.roundsCustom ? `rounds=${s.rounds}$` : ''}${s.salt}`;
    if (hash.slice(0, i) !== expectedPrefix) return 'salt longer than 16 characters or stray $';
  } catch (e) {
    return e instanceof MalformedHashError ? e.message : String(e);
  }
  return null;
}
