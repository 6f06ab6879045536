/**
 * libxcrypt (`libcrypt.so.1`) through koffi, for the schemes we do not implement ourselves:
 * yescrypt (`$y$`), gost-yescrypt (`$gy$`) and scrypt (`$7$`).
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

const LIBRARY_CANDIDATES = ['libcrypt.so.1', '/lib/x86_64-linux-gnu/libcrypt.so.1', '/usr/lib/libcrypt.so.1', '/usr/lib64/libcrypt.so.1'];

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

let cached: { lib: Libxcrypt | null; error: string | null } | undefined;

/**
 * Load libxcrypt once per thread. Returns null (and `libxcryptLoadError()` explains) when koffi or
 * the library is unavailable, in which case yescrypt & co. are unsupported.
 */
export function loadLibxcrypt(): Libxcrypt | null {
  if (cached) return cached.lib;
  const errors: string[] = [];
  let koffi: KoffiLike;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiLike;
  } catch (e) {
    cached = { lib: null, error: `koffi unavailable: ${(e as Error).message}` };
    return null;
  }
  for (const path of LIBRARY_CANDIDATES) {
    try {
      const handle = koffi.load(path);
      const cryptRn = handle.func('const char *crypt_rn(void *phrase, const char *setting, void *data, int size)');
      const gensaltRn = handle.func(
        'const char *crypt_gensalt_rn(const char *prefix, unsigned long count, void *rbytes, int nrbytes, void *output, int size)',
      );
      const lib: Libxcrypt = {
        path,
        crypt(phrase, setting) {
          if (phrase.includes(0)) throw new RangeError('passphrase contains a NUL byte');
          if (phrase.length > CRYPT_MAX_PASSPHRASE_BYTES) throw new RangeError('passphrase too long for libxcrypt');
          const z = new Uint8Array(phrase.length + 1);
          const data = new Uint8Array(CRYPT_DATA_SIZE);
          try {
            z.set(phrase);
            const out = cryptRn(z, setting, data, CRYPT_DATA_SIZE);
            if (typeof out !== 'string') throw new Error(`crypt_rn rejected the setting ${JSON.stringify(setting.slice(0, 40))}`);
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
      cached = { lib, error: null };
      return lib;
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
    }
  }
  cached = { lib: null, error: `libcrypt.so.1 could not be loaded (${errors.join('; ')})` };
  return null;
}

/** Why `loadLibxcrypt()` returned null (or null if it loaded or was not tried). */
export function libxcryptLoadError(): string | null {
  return cached?.error ?? null;
}
