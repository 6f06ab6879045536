/**
 * Public entry points: verify a password against a stored hash, hash a new password, calibrate
 * sha512crypt rounds. CPU-bound work runs in the crypt worker pool (sha-crypt, libxcrypt) or on
 * libuv's threadpool (argon2), never on the event loop.
 *
 * Ownership: the caller keeps its password Buffer (never modified here). We copy it into a private
 * buffer, hand that to the worker/argon2, and zero it afterwards.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { encodeCryptB64 } from './crypt-base64.js';
import { MalformedHashError, UnsupportedHashError } from './errors.js';
import { CRYPT_MAX_PASSPHRASE_BYTES } from './libxcrypt.js';
import { ARGON2_SCHEMES, identifyScheme, type HashScheme } from './scheme.js';
import { SHA_CRYPT_ROUNDS_MAX, shaCryptHashProblem } from './sha-crypt.js';
import { getCryptPool, type CryptWorkerPool } from './worker-pool.js';

export interface CryptCallOptions {
  /** Pool to use; default: the process-wide pool (`getCryptPool()`). */
  pool?: CryptWorkerPool;
  /** Abort (terminate and replace the worker) after this long; rejects with WorkerCrashedError. */
  timeoutMs?: number;
}

export type HashPasswordOptions =
  | { scheme: 'sha512crypt'; rounds?: number }
  | { scheme: 'yescrypt'; /** crypt_gensalt cost 1–11; default 0 = libxcrypt's default (5). */ cost?: number }
  | { scheme: 'argon2id'; memoryKiB?: number; timeCost?: number; parallelism?: number };

/** Target time for one sha512crypt verification when rounds are calibrated. */
export const SHA512_CALIBRATION_TARGET_MS = 250;
export const SHA512_MIN_CALIBRATED_ROUNDS = 5000;

export const ARGON2ID_DEFAULTS = { memoryKiB: 65536, timeCost: 3, parallelism: 1 } as const;

/** A private, non-pooled copy (its ArrayBuffer can be transferred to a worker). */
function privateCopy(password: Uint8Array): Uint8Array {
  const copy = new Uint8Array(password.length);
  copy.set(password);
  return copy;
}

function equalConstantTime(computed: string, stored: string): boolean {
  const a = Buffer.from(computed, 'utf8');
  const b = Buffer.from(stored, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work, result discarded: lengths are not secret, contents are
    return false;
  }
  return timingSafeEqual(a, b);
}

/** crypt(3) schemes see C strings: a NUL byte or ≥ 512 bytes can never be what the user set. */
function cryptCompatible(password: Uint8Array): boolean {
  return !password.includes(0) && password.length <= CRYPT_MAX_PASSPHRASE_BYTES;
}

type Argon2Module = typeof import('argon2');
let argon2Promise: Promise<Argon2Module> | null = null;
async function loadArgon2(scheme: string): Promise<Argon2Module> {
  argon2Promise ??= import('argon2').then((m) => ((m as { default?: Argon2Module }).default ?? m) as Argon2Module);
  try {
    return await argon2Promise;
  } catch (e) {
    argon2Promise = null;
    throw new UnsupportedHashError(scheme, `argon2 module unavailable: ${(e as Error).message}`);
  }
}

/**
 * Verify `password` against a stored hash. Resolves true/false; rejects with UnsupportedHashError
 * (unknown/refused scheme, or libxcrypt missing for yescrypt), MalformedHashError, BusyError,
 * PoolClosedError or WorkerCrashedError — never a silent false for those.
 * The computed crypt string is compared with the stored one in constant time.
 * `$5$`/`$6$` are computed by the pool's SHA-crypt backend (`CryptPoolOptions.shaCryptBackend`:
 * libxcrypt's crypt_rn when it loads, else the built-in implementation); both give the same result.
 */
export async function verifyPassword(password: Buffer, hash: string, opts: CryptCallOptions = {}): Promise<boolean> {
  const scheme = identifyScheme(hash);
  if (ARGON2_SCHEMES.has(scheme)) {
    const argon2 = await loadArgon2(scheme);
    const copy = Buffer.from(privateCopy(password).buffer);
    try {
      return await argon2.verify(hash, copy);
    } catch (e) {
      throw new MalformedHashError(scheme, (e as Error).message);
    } finally {
      copy.fill(0);
    }
  }
  if (scheme === 'sha512crypt' || scheme === 'sha256crypt') {
    const problem = shaCryptHashProblem(hash, scheme);
    if (problem) throw new MalformedHashError(scheme, problem);
  }
  if (!cryptCompatible(password)) return false;
  const pool = opts.pool ?? getCryptPool();
  const op = scheme === 'sha512crypt' || scheme === 'sha256crypt' ? scheme : 'xcrypt';
  let computed: string;
  try {
    ({ value: computed } = await pool.run({ op, password: privateCopy(password), setting: hash }, opts));
  } catch (e) {
    // libxcrypt returns NULL for settings it rejects: report as malformed, naming the scheme.
    if (op === 'xcrypt' && !(e instanceof UnsupportedHashError) && /rejected the setting/.test((e as Error).message)) {
      throw new MalformedHashError(scheme, (e as Error).message);
    }
    if (e instanceof UnsupportedHashError) throw new UnsupportedHashError(scheme, e.message);
    throw e;
  }
  return equalConstantTime(computed, hash);
}

/**
 * The argon2 npm module writes parameters as m,p,t; libargon2 (the reference implementation, PAM
 * modules, the argon2 CLI) only parses m,t,p. Rewrite to the canonical order so other tools accept it.
 */
function canonicalArgon2(phc: string): string {
  const parts = phc.split('$');
  const params = parts[3];
  if (parts.length !== 6 || params === undefined) return phc;
  const kv = new Map(params.split(',').map((p) => p.split('=') as [string, string]));
  const m = kv.get('m');
  const t = kv.get('t');
  const p = kv.get('p');
  if (kv.size !== 3 || !m || !t || !p) return phc;
  parts[3] = `m=${m},t=${t},p=${p}`;
  return parts.join('$');
}

let defaultRounds: Promise<number> | null = null;

/**
 * Hash a new password with a fresh random salt (crypto.randomBytes). Default options: yescrypt
 * (what Debian/Ubuntu/Fedora write) when libxcrypt is available, else sha512crypt with rounds
 * calibrated once per process to ~SHA512_CALIBRATION_TARGET_MS.
 */
export async function hashPassword(password: Buffer, opts?: HashPasswordOptions, call: CryptCallOptions = {}): Promise<string> {
  if (!opts) {
    try {
      return await hashPassword(password, { scheme: 'yescrypt' }, call);
    } catch (e) {
      if (!(e instanceof UnsupportedHashError)) throw e;
      return hashPassword(password, { scheme: 'sha512crypt' }, call);
    }
  }
  const pool = call.pool ?? getCryptPool();
  if (opts.scheme === 'argon2id') {
    const argon2 = await loadArgon2('argon2id');
    const copy = Buffer.from(privateCopy(password).buffer);
    try {
      const phc = await argon2.hash(copy, {
        type: argon2.argon2id,
        memoryCost: opts.memoryKiB ?? ARGON2ID_DEFAULTS.memoryKiB,
        timeCost: opts.timeCost ?? ARGON2ID_DEFAULTS.timeCost,
        parallelism: opts.parallelism ?? ARGON2ID_DEFAULTS.parallelism,
        salt: randomBytes(16),
      });
      return canonicalArgon2(phc);
    } finally {
      copy.fill(0);
    }
  }
  if (!cryptCompatible(password)) {
    throw new RangeError(`${opts.scheme} passwords must not contain NUL and must be at most ${CRYPT_MAX_PASSPHRASE_BYTES} bytes`);
  }
  if (opts.scheme === 'sha512crypt') {
    let rounds = opts.rounds;
    if (rounds === undefined) {
      defaultRounds ??= calibrateSha512Rounds(SHA512_CALIBRATION_TARGET_MS, call).catch((e: unknown) => {
        defaultRounds = null;
        throw e;
      });
      rounds = await defaultRounds;
    }
    if (!Number.isInteger(rounds) || rounds < 1000 || rounds > SHA_CRYPT_ROUNDS_MAX) {
      throw new RangeError(`sha512crypt rounds must be an integer in [1000, ${SHA_CRYPT_ROUNDS_MAX}]`);
    }
    const setting = `$6$rounds=${rounds}$${encodeCryptB64(randomBytes(12))}`;
    return (await pool.run({ op: 'sha512crypt', password: privateCopy(password), setting }, call)).value;
  }
  const count = opts.cost ?? 0;
  const { value: setting } = await pool.run({ op: 'xgensalt', prefix: '$y$', count, rbytes: randomBytes(16) }, call).catch((e: unknown) => {
    throw e instanceof UnsupportedHashError ? new UnsupportedHashError('yescrypt', e.message) : e;
  });
  return (await pool.run({ op: 'xcrypt', password: privateCopy(password), setting }, call)).value;
}

/**
 * sha512crypt rounds such that one verification takes about `targetMs` in the pool's workers with
 * the pool's SHA-crypt backend (libxcrypt by default, the built-in implementation without it),
 * rounded to the nearest 1000 and clamped to [5000, 999999999]. Runs in the pool: warm-up, then
 * the fastest of three 20000-round probes (the fastest is the least disturbed by other load).
 */
export async function calibrateSha512Rounds(targetMs: number, call: CryptCallOptions = {}): Promise<number> {
  if (!(targetMs > 0)) throw new RangeError('targetMs must be positive');
  const pool = call.pool ?? getCryptPool();
  const probeRounds = 20_000;
  // NUL-free, like every password crypt(3) sees (libxcrypt refuses a NUL byte).
  const pw = Buffer.from(randomBytes(9).toString('base64'));
  await pool.run({ op: 'sha512crypt', password: privateCopy(pw), setting: '$6$rounds=5000$calibrate' }, call);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const { elapsedMs } = await pool.run(
      { op: 'sha512crypt', password: privateCopy(pw), setting: `$6$rounds=${probeRounds}$calibrate` },
      call,
    );
    best = Math.min(best, elapsedMs);
  }
  pw.fill(0);
  const rounds = Math.round((targetMs / (best / probeRounds)) / 1000) * 1000;
  return Math.min(SHA_CRYPT_ROUNDS_MAX, Math.max(SHA512_MIN_CALIBRATED_ROUNDS, rounds));
}

export type { HashScheme };
