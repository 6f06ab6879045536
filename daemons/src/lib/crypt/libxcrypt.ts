/**
 * libxcrypt (`libcrypt.so.1`) through koffi: yescrypt (`$y$`), gost-yescrypt (`$gy$`) and scrypt
 * (`$7$`), and — the default SHA-crypt backend, see crypt-worker.ts — `$5$`/`$6$`.
 *
 * Synchronous FFI calls: run them in the worker pool only. `crypt_rn` is the reentrant variant that
 * takes a caller-owned `struct crypt_data` (32768 bytes in libxcrypt) and returns NULL on failure
 * (never a "*0" failure token), which we turn into an exception.
 */
import { createRequire } from 'node:module';

/** sizeof(struct crypt_data) in libxcrypt. */
export const CRYPT_DATA_SIZE = 32768;
/** CRYPT_GENSALT_OUTPUT_SIZE in libxcrypt. */
const CRYPT_GENSALT_OUTPUT_SIZE = 192;
/** libxcrypt refuses passphrases of CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more. */
export const CRYPT_MAX_PASSPHRASE_BYTES = 511;

/** Where `loadLibxcrypt()` looks, in order (the soname first, then the usual directories). */
export const LIBXCRYPT_CANDIDATES: readonly string[] = ['libcrypt.so.1', '/lib/x86_64-linux-gnu/libcrypt.so.1', '/usr/lib/libcrypt.so.1', '/usr/lib64/libcrypt.so.1'];

export interface LibxcryptLoadOptions {
  /**
   * Library paths/sonames to try instead of LIBXCRYPT_CANDIDATES. An empty list (or paths that do
   * not exist) makes libxcrypt unavailable: tests use this to exercise the fallbacks for real.
   */
  candidates?: readonly string[];
}

/** The passphrase is not a C string libxcrypt accepts: it contains a NUL byte or is CRYPT_MAX_PASSPHRASE_BYTES + 1 bytes or longer. */
export class LibxcryptPassphraseError extends RangeError {
  override readonly name = 'LibxcryptPassphraseError';
}

/** crypt_rn returned NULL: libxcrypt refuses this setting (unknown prefix, or parameters outside what it accepts). */
export class LibxcryptRejectedError extends Error {
  override readonly name = 'LibxcryptRejectedError';
  constructor(setting: string) {
    super(`crypt_rn rejected the setting ${JSON.stringify(setting.slice(0, 40))}`);
  }
}

export interface Libxcrypt {
  /** The path/soname that loaded. */
  readonly path: string;
  /**
   * crypt_rn(phrase, setting). `phrase` must not contain NUL. Returns the full hash string,
   * or throws (errno from libxcrypt is not observable through koffi; the message says so).
   * Internal copies (the NUL-terminated phrase and the crypt_data scratch area) are zeroed afterwards.
   */
  crypt(phrase: Uint8Array, setting: string): string;
  /** crypt_gensalt_rn(prefix, count, rbytes): a setting string, e.g. `$y$j9T$…`. */
  gensalt(prefix: string, count: number, rbytes: Uint8Array): string;
}

type Fn = (...args: unknown[]) => unknown;
interface KoffiLike {
  load(path: string): { func(decl: string): Fn };
}

interface Loaded {
  lib: Libxcrypt | null;
  error: string | null;
}
/** Per thread, per candidate list (in practice one list per thread). */
const loaded = new Map<string, Loaded>();
const keyOf = (candidates: readonly string[]): string => candidates.join('\0');

/**
 * Load libxcrypt once per thread. Returns null (and `libxcryptLoadError()` explains) when koffi or
 * the library is unavailable, in which case yescrypt & co. are unsupported and SHA-crypt uses
 * the built-in implementation.
 */
export function loadLibxcrypt(opts: LibxcryptLoadOptions = {}): Libxcrypt | null {
  const candidates = opts.candidates ?? LIBXCRYPT_CANDIDATES;
  const key = keyOf(candidates);
  const hit = loaded.get(key);
  if (hit) return hit.lib;
  const result = tryLoad(candidates);
  loaded.set(key, result);
  return result.lib;
}

function tryLoad(candidates: readonly string[]): Loaded {
  if (candidates.length === 0) return { lib: null, error: 'libcrypt.so.1 could not be loaded (no candidate paths configured)' };
  const errors: string[] = [];
  let koffi: KoffiLike;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiLike;
  } catch (e) {
    return { lib: null, error: `koffi unavailable: ${(e as Error).message}` };
  }
  for (const path of candidates) {
    try {
      const handle = koffi.load(path);
      const cryptRn = handle.func('const char *crypt_rn(void *phrase, const char *setting, void *data, int size)');
      const gensaltRn = handle.func(
        'const char *crypt_gensalt_rn(const char *prefix, unsigned long count, void *rbytes, int nrbytes, void *output, int size)',
      );
      // One scratch area per thread (calls are synchronous), zeroed after every call: no 32 KiB
      // allocation per verification for the garbage collector to catch up with under a flood.
      const data = new Uint8Array(CRYPT_DATA_SIZE);
      const lib: Libxcrypt = {
        path,
        crypt(phrase, setting) {
          if (phrase.includes(0)) throw new LibxcryptPassphraseError('passphrase contains a NUL byte');
          if (phrase.length > CRYPT_MAX_PASSPHRASE_BYTES) throw new LibxcryptPassphraseError('passphrase too long for libxcrypt');
          const z = new Uint8Array(phrase.length + 1);
          try {
            z.set(phrase);
            const out = cryptRn(z, setting, data, CRYPT_DATA_SIZE);
            if (typeof out !== 'string') throw new LibxcryptRejectedError(setting);
            return out;
          } finally {
            z.fill(0);
            data.fill(0);
          }
        },
        gensalt(prefix, count, rbytes) {
          const output = new Uint8Array(CRYPT_GENSALT_OUTPUT_SIZE);
          const out = gensaltRn(prefix, count, rbytes, rbytes.length, output, output.length);
          if (typeof out !== 'string') throw new Error(`crypt_gensalt_rn rejected prefix ${prefix} count ${count}`);
          return out;
        },
      };
      return { lib, error: null };
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
    }
  }
  return { lib: null, error: `libcrypt.so.1 could not be loaded (${errors.join('; ')})` };
}

/** Why `loadLibxcrypt(opts)` returned null (or null if it loaded or was not tried with these options). */
export function libxcryptLoadError(opts: LibxcryptLoadOptions = {}): string | null {
  return loaded.get(keyOf(opts.candidates ?? LIBXCRYPT_CANDIDATES))?.error ?? null;
}
