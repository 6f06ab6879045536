/**
 * Which scheme a stored hash (the second field of /etc/shadow) uses.
 */
import { UnsupportedHashError } from './errors.js';

export type HashScheme =
  | 'sha512crypt'
  | 'sha256crypt'
  | 'yescrypt'
  | 'gost-yescrypt'
  | 'scrypt'
  | 'argon2id'
  | 'argon2i'
  | 'argon2d';

/** Schemes computed by libxcrypt (through koffi) rather than by this library. */
export const LIBXCRYPT_SCHEMES: ReadonlySet<HashScheme> = new Set<HashScheme>(['yescrypt', 'gost-yescrypt', 'scrypt']);
export const ARGON2_SCHEMES: ReadonlySet<HashScheme> = new Set<HashScheme>(['argon2id', 'argon2i', 'argon2d']);

const SUPPORTED: ReadonlyArray<readonly [string, HashScheme]> = [
  ['$6$', 'sha512crypt'],
  ['$5$', 'sha256crypt'],
  ['$y$', 'yescrypt'],
  ['$gy$', 'gost-yescrypt'],
  ['$7$', 'scrypt'],
  ['$argon2id$', 'argon2id'],
  ['$argon2i$', 'argon2i'],
  ['$argon2d$', 'argon2d'],
];

/** Known but refused schemes (legacy/weak, or not in our policy), by prefix. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['$1$', 'md5crypt ($1$)'],
  ['$2a$', 'bcrypt ($2a$)'],
  ['$2b$', 'bcrypt ($2b$)'],
  ['$2x$', 'bcrypt ($2x$)'],
  ['$2y$', 'bcrypt ($2y$)'],
  ['$3$', 'NT hash ($3$)'],
  ['$md5', 'SunMD5 ($md5$)'],
  ['$sha1$', 'sha1crypt ($sha1$)'],
  ['$argon2', 'unknown argon2 variant'],
  ['$scrypt$', 'scrypt PHC ($scrypt$)'],
  ['$pbkdf2', 'PBKDF2 ($pbkdf2…$)'],
];

/**
 * Identify the scheme of a stored hash. Throws UnsupportedHashError (with `scheme` naming what was
 * found) for everything else, including locked (`!…`, `*…`) and empty fields.
 */
export function identifyScheme(hash: string): HashScheme {
  for (const [prefix, scheme] of SUPPORTED) if (hash.startsWith(prefix)) return scheme;
  for (const [prefix, name] of REFUSED) if (hash.startsWith(prefix)) throw new UnsupportedHashError(name);
  if (hash === '') throw new UnsupportedHashError('empty (no password)');
  if (hash.startsWith('!') || hash.startsWith('*')) throw new UnsupportedHashError(`locked account (${hash[0]})`);
  if (hash.startsWith('_')) throw new UnsupportedHashError('BSDi extended DES (_)');
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) throw new UnsupportedHashError('descrypt (traditional DES)');
  const m = /^\$([^$]{0,16})\$/.exec(hash);
  if (m) throw new UnsupportedHashError(`unknown ($${m[1]}$)`);
  throw new UnsupportedHashError('unknown (unrecognised format)');
}
