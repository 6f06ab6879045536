import { createHash } from 'node:crypto';
import { integrity, SecureFsError } from './errors.js';
import { randomBytes } from './rng.js';
import { xchachaOpen, xchachaSeal, XNONCE_LEN } from './xchacha.js';
import { STORE_ID_LEN } from './key-provider.js';

export const INDEX_MAGIC = Buffer.from('SFSI', 'latin1');
export const INDEX_VERSION = 1;
export const INDEX_HEADER_LEN = 56;

export interface FileEntry {
  type: 'file';
  /** file_id, 32 hex chars. */
  fileId: string;
  /** Per-file version counter; names the object. */
  version: number;
  /** header_tag of the current object (64 hex chars): pins the exact version. */
  headerTag: string;
  keyGen: number;
  size: number;
  mtimeMs: number;
  mode: number;
}

export interface DirEntry {
  type: 'dir';
  mtimeMs: number;
  mode: number;
}

export type Entry = FileEntry | DirEntry;

export interface IndexState {
  epoch: number;
  /** path → entry; "/" is implicit and never stored. */
  entries: Map<string, Entry>;
}

interface WireFile {
  t: 'f';
  id: string;
  v: number;
  h: string;
  g: number;
  s: number;
  m: number;
  p: number;
}
interface WireDir {
  t: 'd';
  m: number;
  p: number;
}

/**
 * Index object: "SFSI" ‖ version ‖ suite ‖ 00 00 ‖ store_id(16) ‖ BE64 epoch ‖ nonce(24) ‖
 * XChaCha20-Poly1305(K_index, nonce, JSON, aad = bytes[0..56]).
 */
export function encodeIndex(state: IndexState, kIndex: Buffer, storeId: Buffer): Buffer {
  const hdr = Buffer.alloc(INDEX_HEADER_LEN);
  INDEX_MAGIC.copy(hdr, 0);
  hdr[4] = INDEX_VERSION;
  hdr[5] = 1;
  storeId.copy(hdr, 8);
  hdr.writeBigUInt64BE(BigInt(state.epoch), 24);
  randomBytes(XNONCE_LEN).copy(hdr, 32);
  const list: [string, WireFile | WireDir][] = [];
  for (const [path, e] of [...state.entries].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    list.push([
      path,
      e.type === 'file'
        ? { t: 'f', id: e.fileId, v: e.version, h: e.headerTag, g: e.keyGen, s: e.size, m: e.mtimeMs, p: e.mode }
        : { t: 'd', m: e.mtimeMs, p: e.mode },
    ]);
  }
  const pt = Buffer.from(JSON.stringify({ v: 1, entries: list }));
  const sealed = xchachaSeal(kIndex, hdr.subarray(32, 56), pt, hdr);
  pt.fill(0);
  return Buffer.concat([hdr, sealed]);
}

export function indexHash(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Peek at the (unauthenticated) epoch; used for diagnostics only. */
export function peekEpoch(bytes: Buffer): number | null {
  return bytes.length >= INDEX_HEADER_LEN && bytes.subarray(0, 4).equals(INDEX_MAGIC)
    ? Number(bytes.readBigUInt64BE(24))
    : null;
}

export function decodeIndex(bytes: Buffer, kIndex: Buffer, storeId: Buffer): IndexState {
  const d = { object: 'index.sfsi' };
  if (bytes.length < INDEX_HEADER_LEN + 16 || !bytes.subarray(0, 4).equals(INDEX_MAGIC)) {
    throw integrity('index_format', 'index is not an SFSI object', d);
  }
  if (bytes[4] !== INDEX_VERSION || bytes[5] !== 1 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new SecureFsError('unsupported_version', `index version ${bytes[4]} / suite ${bytes[5]} unsupported`, {
      ...d,
      kind: 'unsupported',
    });
  }
  if (!bytes.subarray(8, 8 + STORE_ID_LEN).equals(storeId)) {
    throw integrity('store_id_mismatch', 'index belongs to another store', d);
  }
  const hdr = bytes.subarray(0, INDEX_HEADER_LEN);
  const pt = xchachaOpen(kIndex, hdr.subarray(32, 56), bytes.subarray(INDEX_HEADER_LEN), hdr);
  if (!pt) throw integrity('index_auth', 'index failed authentication (tampered, or wrong key)', d);
  let parsed: unknown;
  try {
    parsed = JSON.parse(pt.toString('utf8'));
  } catch {
    throw integrity('index_format', 'index plaintext is not JSON', d);
  } finally {
    pt.fill(0);
  }
  const entries = new Map<string, Entry>();
  const obj = parsed as { v?: unknown; entries?: unknown };
  if (obj.v !== 1 || !Array.isArray(obj.entries)) throw integrity('index_format', 'index body malformed', d);
  for (const item of obj.entries as [string, WireFile | WireDir][]) {
    const [path, w] = item;
    if (typeof path !== 'string' || !w) throw integrity('index_format', 'index entry malformed', d);
    entries.set(
      path,
      w.t === 'f'
        ? { type: 'file', fileId: w.id, version: w.v, headerTag: w.h, keyGen: w.g, size: w.s, mtimeMs: w.m, mode: w.p }
        : { type: 'dir', mtimeMs: w.m, mode: w.p },
    );
  }
  return { epoch: Number(bytes.readBigUInt64BE(24)), entries };
}
