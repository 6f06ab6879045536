import { createHmac, timingSafeEqual } from 'node:crypto';
import { integrity, SecureFsError } from './errors.js';
import { FILE_ID_LEN } from './key-provider.js';

export const HEADER_LEN = 80;
export const HEADER_MAC_LEN = 48;
export const MAGIC = Buffer.from('SFS\0', 'latin1');
export const FORMAT_VERSION = 1;
export const SUITE_XCHACHA_HKDF_HMAC = 1;
export const CHUNK_LOG2 = 16;
export const CHUNK_SIZE = 1 << CHUNK_LOG2;
export const NONCE_PREFIX_LEN = 16;

export interface HeaderFields {
  version: number;
  suite: number;
  chunkLog2: number;
  flags: number;
  fileId: Buffer;
  noncePrefix: Buffer;
  keyGen: number;
  reserved: number;
}

export interface Header extends HeaderFields {
  tag: Buffer;
  /** The 80 header bytes as read/written. */
  raw: Buffer;
}

export function headerTag(kHtag: Buffer, first48: Buffer): Buffer {
  return createHmac('sha256', kHtag).update(first48.subarray(0, HEADER_MAC_LEN)).digest();
}

/** Serialise and tag a header (big-endian; layout in docs/accounts/securefs-home.md). */
export function encodeHeader(f: HeaderFields, kHtag: Buffer): Header {
  if (f.fileId.length !== FILE_ID_LEN || f.noncePrefix.length !== NONCE_PREFIX_LEN) {
    throw new SecureFsError('invalid_argument', 'header: bad file id or nonce prefix length');
  }
  const raw = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(raw, 0);
  raw[4] = f.version;
  raw[5] = f.suite;
  raw[6] = f.chunkLog2;
  raw[7] = f.flags;
  f.fileId.copy(raw, 8);
  f.noncePrefix.copy(raw, 24);
  raw.writeUInt32BE(f.keyGen, 40);
  raw.writeUInt32BE(f.reserved, 44);
  const tag = headerTag(kHtag, raw);
  tag.copy(raw, 48);
  return { ...f, fileId: Buffer.from(f.fileId), noncePrefix: Buffer.from(f.noncePrefix), tag, raw };
}

/** Parse without authenticating (check the magic only). */
export function parseHeader(buf: Buffer): Header {
  if (buf.length < HEADER_LEN) throw integrity('truncation', `object shorter than its ${HEADER_LEN}-byte header`);
  const raw = Buffer.from(buf.subarray(0, HEADER_LEN));
  if (!raw.subarray(0, 4).equals(MAGIC)) throw integrity('bad_magic', 'object magic is not SFS\\0');
  return {
    version: raw[4]!,
    suite: raw[5]!,
    chunkLog2: raw[6]!,
    flags: raw[7]!,
    fileId: raw.subarray(8, 24),
    noncePrefix: raw.subarray(24, 40),
    keyGen: raw.readUInt32BE(40),
    reserved: raw.readUInt32BE(44),
    tag: raw.subarray(48, 80),
    raw,
  };
}

/** True when every parameter is one this reader implements (suite 1 only). */
export function headerSupported(h: HeaderFields): boolean {
  return (
    h.version === FORMAT_VERSION &&
    h.suite === SUITE_XCHACHA_HKDF_HMAC &&
    h.chunkLog2 === CHUNK_LOG2 &&
    h.flags === 0 &&
    h.reserved === 0 &&
    h.keyGen >= 1
  );
}

/** Constant-time check of the header tag. */
export function headerTagValid(h: Header, kHtag: Buffer): boolean {
  const expect = headerTag(kHtag, h.raw);
  return timingSafeEqual(expect, h.tag);
}
