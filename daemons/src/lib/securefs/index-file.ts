import { createHash } from 'node:crypto';
import { integrity, SecureFsError } from './errors.js';
import { randomBytes } from './rng.js';
import { xchachaOpen, xchachaSeal, XNONCE_LEN } from './xchacha.js';
import { STORE_ID_LEN } from './key-provider.js';
import { normalizePath } from './paths.js';

export const INDEX_MAGIC = Buffer.from('SFSI', 'latin1');
/** Index format without symlink entries (what every store written before symlinks has). */
export const INDEX_VERSION = 1;
/** Index format that may hold symlink entries; written only when the index holds at least one. */
export const INDEX_VERSION_SYMLINKS = 2;
export const INDEX_HEADER_LEN = 56;
/** Permission bits reported for every symlink (Linux ignores a link's own mode). */
export const SYMLINK_MODE = 0o777;
/** Longest symlink target in bytes (PATH_MAX − 1, so it fits libfuse's readlink buffer with its NUL). */
export const SYMLINK_MAX_BYTES = 4095;

export interface FileEntry {
  readonly type: 'file';
  /** file_id, 32 hex chars. */
  readonly fileId: string;
  /** Per-file version counter; names the object. */
  readonly version: number;
  /** header_tag of the current object (64 hex chars): pins the exact version. */
  readonly headerTag: string;
  readonly keyGen: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
}

export interface DirEntry {
  readonly type: 'dir';
  readonly mtimeMs: number;
  readonly mode: number;
}

/** A symbolic link: index only (no content object). The store never follows it. */
export interface SymlinkEntry {
  readonly type: 'symlink';
  /** The link text, stored as given (relative or absolute; it may dangle). */
  readonly target: string;
  readonly mtimeMs: number;
  readonly mode: typeof SYMLINK_MODE;
}

/** Entries are immutable: a change replaces the entry object (`{ ...e, mtimeMs }`), so states can share them. */
export type Entry = FileEntry | DirEntry | SymlinkEntry;

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
interface WireSymlink {
  t: 'l';
  /** target */
  x: string;
  m: number;
}
type WireEntry = WireFile | WireDir | WireSymlink;

/** Why `target` cannot be a symlink target (non-empty, at most 4095 bytes, no NUL), or null. */
export function symlinkTargetProblem(target: unknown): string | null {
  if (typeof target !== 'string' || target.length === 0) return 'symlink target must be a non-empty string';
  if (target.includes('\0')) return 'symlink target contains NUL';
  if (Buffer.byteLength(target) > SYMLINK_MAX_BYTES) return `symlink target longer than ${SYMLINK_MAX_BYTES} bytes`;
  return null;
}

function toWire(e: Entry): WireEntry {
  switch (e.type) {
    case 'file':
      return { t: 'f', id: e.fileId, v: e.version, h: e.headerTag, g: e.keyGen, s: e.size, m: e.mtimeMs, p: e.mode };
    case 'dir':
      return { t: 'd', m: e.mtimeMs, p: e.mode };
    case 'symlink':
      return { t: 'l', x: e.target, m: e.mtimeMs };
  }
}

/**
 * Index object: "SFSI" ‖ version ‖ suite ‖ 00 00 ‖ store_id(16) ‖ BE64 epoch ‖ nonce(24) ‖
 * XChaCha20-Poly1305(K_index, nonce, JSON, aad = bytes[0..56]).
 * Version 1 when there is no symlink entry (readable by every release), 2 otherwise (older
 * releases refuse it as `unsupported_version` instead of misreading links as directories).
 */
export function encodeIndex(state: IndexState, kIndex: Buffer, storeId: Buffer): Buffer {
  const list: [string, WireEntry][] = [];
  let version = INDEX_VERSION;
  for (const [path, e] of [...state.entries].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (e.type === 'symlink') version = INDEX_VERSION_SYMLINKS;
    list.push([path, toWire(e)]);
  }
  const pt = Buffer.from(JSON.stringify({ v: version, entries: list }));
  try {
    return sealIndex(pt, version, state.epoch, kIndex, storeId);
  } finally {
    pt.fill(0);
  }
}

/**
 * Seal an index body (the JSON plaintext) under the given header version. Low level: use
 * `encodeIndex`; exported so tests can build authentic indexes with malformed bodies.
 */
export function sealIndex(body: Buffer, version: number, epoch: number, kIndex: Buffer, storeId: Buffer): Buffer {
  const hdr = Buffer.alloc(INDEX_HEADER_LEN);
  INDEX_MAGIC.copy(hdr, 0);
  hdr[4] = version;
  hdr[5] = 1;
  storeId.copy(hdr, 8);
  hdr.writeBigUInt64BE(BigInt(epoch), 24);
  randomBytes(XNONCE_LEN).copy(hdr, 32);
  const sealed = xchachaSeal(kIndex, hdr.subarray(32, 56), body, hdr);
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
  const version = bytes[4]!;
  if ((version !== INDEX_VERSION && version !== INDEX_VERSION_SYMLINKS) || bytes[5] !== 1 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new SecureFsError('unsupported_version', `index version ${version} / suite ${bytes[5]} unsupported`, {
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
  const obj = parsed as { v?: unknown; entries?: unknown } | null;
  if (typeof obj !== 'object' || obj === null || obj.v !== version || !Array.isArray(obj.entries)) {
    throw integrity('index_format', 'index body malformed', d);
  }
  for (const item of obj.entries as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) throw integrity('index_format', 'index entry malformed', d);
    const [path, w] = item as [unknown, unknown];
    if (typeof path !== 'string' || !isStorePath(path)) throw integrity('index_format', 'index entry has an invalid path', d);
    if (entries.has(path)) throw integrity('index_format', `index lists ${path} twice`, { ...d, path });
    entries.set(path, decodeEntry(w, version, { ...d, path }));
  }
  return { epoch: Number(bytes.readBigUInt64BE(24)), entries };
}

/** A normalised, non-root store path ("/a/b"), as the store writes them. */
function isStorePath(p: string): boolean {
  if (p === '/' || !p.startsWith('/')) return false;
  try {
    return normalizePath(p) === p;
  } catch {
    return false;
  }
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isNum = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

function decodeEntry(raw: unknown, version: number, d: { object: string; path: string }): Entry {
  const bad = (why: string) => integrity('index_format', `index entry ${d.path}: ${why}`, d);
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const w = raw as Record<string, unknown>;
  switch (w.t) {
    case 'f':
      if (typeof w.id !== 'string' || !HEX32.test(w.id) || typeof w.h !== 'string' || !HEX64.test(w.h)) throw bad('bad file id or header tag');
      if (!isCount(w.v) || !isCount(w.g) || !isCount(w.s) || !isNum(w.m) || !isNum(w.p)) throw bad('bad file fields');
      return { type: 'file', fileId: w.id, version: w.v, headerTag: w.h, keyGen: w.g, size: w.s, mtimeMs: w.m, mode: w.p };
    case 'd':
      if (!isNum(w.m) || !isNum(w.p)) throw bad('bad directory fields');
      return { type: 'dir', mtimeMs: w.m, mode: w.p };
    case 'l': {
      // Written only under index version 2 (see encodeIndex).
      if (version < INDEX_VERSION_SYMLINKS) throw bad(`symlink entry in a version ${version} index`);
      const problem = symlinkTargetProblem(w.x);
      if (problem) throw bad(problem);
      if (!isNum(w.m)) throw bad('bad symlink mtime');
      return { type: 'symlink', target: w.x as string, mtimeMs: w.m, mode: SYMLINK_MODE };
    }
    default:
      throw bad('unknown entry type');
  }
}
