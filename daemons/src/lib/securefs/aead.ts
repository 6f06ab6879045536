/**
 * ChaCha20-Poly1305 (IETF, RFC 8439) for SecureFS chunks, writing into caller-owned buffers.
 *
 * Two backends with identical results:
 * - `openssl`: the system's libcrypto (`libcrypto.so.3`) through koffi, one reusable
 *   EVP_CIPHER_CTX per direction and thread. No per-chunk allocation or copy: ciphertext is
 *   written straight into the I/O batch, plaintext straight into the caller's buffer. This is the
 *   code `openssl speed` measures, so a chunk costs what OpenSSL's assembly costs.
 * - `node`: node:crypto's `chacha20-poly1305` (a Cipher object per chunk, output copied into the
 *   caller's buffer). Always available; used when koffi or libcrypto is missing, or when the
 *   loaded library fails the RFC 8439 §2.8.2 known-answer test at load.
 *
 * `open` writes plaintext into `out` before the tag is known to be good (both backends decrypt
 * before they verify); on failure it wipes `out` and returns false, so callers must not expose
 * `out` until `open` returned true.
 *
 * The FFI calls are synchronous and short (one 64 KiB chunk ≈ 20 µs), so they run on the calling
 * thread. A key stays in the OpenSSL context until the next operation or `wipe()`.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createRequire } from 'node:module';

export const AEAD_TAG_LEN = 16;
export type AeadBackendName = 'openssl' | 'node';
export type AeadBackendChoice = AeadBackendName | 'auto';

export interface ChunkAead {
  readonly name: AeadBackendName;
  /** Encrypt `pt` into `out` (pt.length bytes; may be `pt` itself) and the tag into `tag` (16 bytes). */
  seal(key: Uint8Array, nonce12: Uint8Array, aad: Uint8Array, pt: Uint8Array, out: Uint8Array, tag: Uint8Array): void;
  /** Decrypt `ct` into `out` (ct.length bytes; may be `ct` itself); false (and `out` wiped) if the tag is wrong. */
  open(key: Uint8Array, nonce12: Uint8Array, aad: Uint8Array, ct: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean;
  /** Overwrite any key material the backend keeps between calls. */
  wipe(): void;
}

function checkLengths(key: Uint8Array, nonce12: Uint8Array, data: Uint8Array, out: Uint8Array, tag: Uint8Array): void {
  if (key.length !== 32) throw new RangeError('chacha20-poly1305: key must be 32 bytes');
  if (nonce12.length !== 12) throw new RangeError('chacha20-poly1305: nonce must be 12 bytes');
  if (tag.length !== AEAD_TAG_LEN) throw new RangeError('chacha20-poly1305: tag must be 16 bytes');
  if (out.length < data.length) throw new RangeError('chacha20-poly1305: output buffer too small');
}

export const nodeAead: ChunkAead = {
  name: 'node',
  seal(key, nonce12, aad, pt, out, tag) {
    checkLengths(key, nonce12, pt, out, tag);
    const c = createCipheriv('chacha20-poly1305', key, nonce12, { authTagLength: AEAD_TAG_LEN });
    c.setAAD(aad, { plaintextLength: pt.length });
    const ct = c.update(pt);
    c.final();
    out.set(ct);
    tag.set(c.getAuthTag());
  },
  open(key, nonce12, aad, ct, tag, out) {
    checkLengths(key, nonce12, ct, out, tag);
    const d = createDecipheriv('chacha20-poly1305', key, nonce12, { authTagLength: AEAD_TAG_LEN });
    d.setAAD(aad, { plaintextLength: ct.length });
    d.setAuthTag(tag);
    const pt = d.update(ct);
    try {
      d.final();
    } catch {
      pt.fill(0);
      out.fill(0, 0, ct.length);
      return false;
    }
    out.set(pt);
    pt.fill(0);
    return true;
  },
  wipe() {},
};

type Fn = (...args: unknown[]) => unknown;
interface KoffiLike {
  load(path: string): { func(decl: string): Fn };
}

const LIBCRYPTO_CANDIDATES = ['libcrypto.so.3', '/usr/lib/x86_64-linux-gnu/libcrypto.so.3', '/usr/lib64/libcrypto.so.3', '/usr/lib/libcrypto.so.3'];
const EVP_CTRL_AEAD_GET_TAG = 0x10;
const EVP_CTRL_AEAD_SET_TAG = 0x11;

/** Build the libcrypto backend from one library path; throws if a symbol is missing. */
function opensslAeadFrom(koffi: KoffiLike, path: string): ChunkAead {
  const lib = koffi.load(path);
  const ctxNew = lib.func('void *EVP_CIPHER_CTX_new()');
  const cipherFn = lib.func('const void *EVP_chacha20_poly1305()');
  const encInit = lib.func('int EVP_EncryptInit_ex(void *ctx, const void *type, void *impl, const uint8_t *key, const uint8_t *iv)');
  const decInit = lib.func('int EVP_DecryptInit_ex(void *ctx, const void *type, void *impl, const uint8_t *key, const uint8_t *iv)');
  // `outl` is passed as a plain pointer to a 4-byte buffer, not as koffi's `_Out_ int *`: the
  // out-parameter marshalling cost about 2 µs per chunk (a tenth of sealing 64 KiB).
  const encUpdate = lib.func('int EVP_EncryptUpdate(void *ctx, uint8_t *out, uint8_t *outl, const uint8_t *in, int inl)');
  const encFinal = lib.func('int EVP_EncryptFinal_ex(void *ctx, uint8_t *out, uint8_t *outl)');
  const decUpdate = lib.func('int EVP_DecryptUpdate(void *ctx, uint8_t *out, uint8_t *outl, const uint8_t *in, int inl)');
  const decFinal = lib.func('int EVP_DecryptFinal_ex(void *ctx, uint8_t *out, uint8_t *outl)');
  const ctrl = lib.func('int EVP_CIPHER_CTX_ctrl(void *ctx, int type, int arg, void *ptr)');

  const cipher = cipherFn();
  const enc = ctxNew();
  const dec = ctxNew();
  if (!cipher || !enc || !dec) throw new Error('EVP_chacha20_poly1305 or EVP_CIPHER_CTX_new returned NULL');
  if (encInit(enc, cipher, null, null, null) !== 1 || decInit(dec, cipher, null, null, null) !== 1) throw new Error('EVP init failed');
  const outl = new Uint8Array(4); // written by libcrypto, never read
  const zeroKey = new Uint8Array(32);
  const zeroNonce = new Uint8Array(12);
  const scratch = new Uint8Array(16);
  const ok = (r: unknown, what: string): void => {
    if (r !== 1) throw new Error(`libcrypto ${what} failed`);
  };

  return {
    name: 'openssl',
    seal(key, nonce12, aad, pt, out, tag) {
      checkLengths(key, nonce12, pt, out, tag);
      ok(encInit(enc, null, null, key, nonce12), 'EVP_EncryptInit_ex');
      if (aad.length > 0) ok(encUpdate(enc, null, outl, aad, aad.length), 'EVP_EncryptUpdate(aad)');
      if (pt.length > 0) ok(encUpdate(enc, out, outl, pt, pt.length), 'EVP_EncryptUpdate');
      ok(encFinal(enc, scratch, outl), 'EVP_EncryptFinal_ex');
      ok(ctrl(enc, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, tag), 'EVP_CTRL_AEAD_GET_TAG');
    },
    open(key, nonce12, aad, ct, tag, out) {
      checkLengths(key, nonce12, ct, out, tag);
      ok(decInit(dec, null, null, key, nonce12), 'EVP_DecryptInit_ex');
      if (aad.length > 0) ok(decUpdate(dec, null, outl, aad, aad.length), 'EVP_DecryptUpdate(aad)');
      if (ct.length > 0) ok(decUpdate(dec, out, outl, ct, ct.length), 'EVP_DecryptUpdate');
      ok(ctrl(dec, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag), 'EVP_CTRL_AEAD_SET_TAG');
      if (decFinal(dec, scratch, outl) === 1) return true;
      out.fill(0, 0, ct.length);
      return false;
    },
    wipe() {
      encInit(enc, null, null, zeroKey, zeroNonce);
      decInit(dec, null, null, zeroKey, zeroNonce);
    },
  };
}

/** RFC 8439 §2.8.2 test vector; a backend that disagrees is not used. */
function knownAnswerOk(a: ChunkAead): boolean {
  const key = Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex');
  const nonce = Buffer.from('070000004041424344454647', 'hex');
  const aad = Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex');
  const pt = Buffer.from(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const ct = Buffer.alloc(pt.length);
  const tag = Buffer.alloc(16);
  a.seal(key, nonce, aad, pt, ct, tag);
  if (tag.toString('hex') !== '1ae10b594f09e26a7e902ecbd0600691') return false;
  if (!ct.subarray(0, 16).equals(Buffer.from('d31a8d34648e60db7b86afbc53ef7ec2', 'hex'))) return false;
  const back = Buffer.alloc(ct.length);
  if (!a.open(key, nonce, aad, ct, tag, back) || !back.equals(pt)) return false;
  tag.writeUInt8(tag.readUInt8(0) ^ 1, 0);
  const rejected = !a.open(key, nonce, aad, ct, tag, back) && back.every((b) => b === 0);
  a.wipe();
  return rejected;
}

let opensslCache: { aead: ChunkAead | null; error: string | null } | undefined;

/** The libcrypto backend of this thread, or null (`opensslAeadError()` says why). */
export function loadOpensslAead(): ChunkAead | null {
  if (opensslCache) return opensslCache.aead;
  let koffi: KoffiLike;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiLike;
  } catch (e) {
    opensslCache = { aead: null, error: `koffi unavailable: ${(e as Error).message}` };
    return null;
  }
  const errors: string[] = [];
  for (const path of LIBCRYPTO_CANDIDATES) {
    try {
      const a = opensslAeadFrom(koffi, path);
      if (!knownAnswerOk(a)) {
        errors.push(`${path}: failed the RFC 8439 known-answer test`);
        continue;
      }
      opensslCache = { aead: a, error: null };
      return a;
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
    }
  }
  opensslCache = { aead: null, error: errors.join('; ') };
  return null;
}

export function opensslAeadError(): string | null {
  return opensslCache?.error ?? null;
}

let choice: AeadBackendChoice = 'auto';
let active: ChunkAead | undefined;

/**
 * Pick the chunk AEAD for this thread: `auto` (libcrypto if it loads and passes the known-answer
 * test, else node:crypto), `openssl` (throws if unavailable) or `node`.
 */
export function selectAead(c: AeadBackendChoice): ChunkAead {
  if (c === 'openssl') {
    const a = loadOpensslAead();
    if (!a) throw new Error(`securefs: the openssl AEAD backend is unavailable (${opensslAeadError() ?? 'unknown reason'})`);
    active = a;
  } else if (c === 'node') {
    active = nodeAead;
  } else {
    active = loadOpensslAead() ?? nodeAead;
  }
  choice = c;
  return active;
}

/** The chunk AEAD in use on this thread (chosen on first use: `auto`). */
export function chunkAead(): ChunkAead {
  return active ?? selectAead(choice);
}
