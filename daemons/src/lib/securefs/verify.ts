import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CryptoStats } from './content-object.js';
import { isSecureFsError, type ProblemKind, type SecureFsErrorCode } from './errors.js';
import type { FileEntry } from './index-file.js';
import type { KeyProvider } from './key-provider.js';
import { OBJECT_RE, OBJECTS_DIR, objectRelPath, TMP_DIR } from './layout.js';
import { openObject } from './object-open.js';
import { parentOf } from './paths.js';
import { fromProvider } from './store-core.js';
import { loadIndex } from './store-open.js';

export interface Problem {
  severity: 'error' | 'warning';
  code: SecureFsErrorCode;
  kind: ProblemKind;
  message: string;
  path?: string;
  object?: string;
  chunk?: number;
}

export interface VerifyReport {
  /** No errors (warnings such as crash leftovers do not count). */
  ok: boolean;
  epoch: number | null;
  files: number;
  dirs: number;
  /** Symlink entries (index only: no object to check). */
  symlinks: number;
  chunksVerified: number;
  problems: Problem[];
}

const MAX_CHUNK_PROBLEMS_PER_FILE = 16;

function toProblem(e: unknown, fallback: { path?: string; object?: string }): Problem {
  if (isSecureFsError(e)) {
    const p: Problem = { severity: 'error', code: e.code, kind: e.kind ?? 'unsupported', message: e.message };
    const path = e.path ?? fallback.path;
    const object = e.object ?? fallback.object;
    if (path !== undefined) p.path = path;
    if (object !== undefined) p.object = object;
    if (e.chunk !== undefined) p.chunk = e.chunk;
    return p;
  }
  throw e;
}

/**
 * Walk sfs.conf, the index (incl. the rollback checkpoint, without advancing it) and every object,
 * authenticating every chunk. Read-only: it never repairs or garbage-collects.
 */
export async function verifyStore(dir: string, keys: KeyProvider): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, epoch: null, files: 0, dirs: 0, symlinks: 0, chunksVerified: 0, problems: [] };
  let idx;
  try {
    idx = await loadIndex(dir, keys, { advanceCheckpoint: false });
  } catch (e) {
    report.problems.push(toProblem(e, { object: 'index.sfsi' }));
    return report;
  }
  report.epoch = idx.state.epoch;
  idx.kIndex.fill(0);
  const cache = new Map<string, Buffer>();
  const fileKey = async (id: Buffer, g: number): Promise<Buffer> => {
    const k = `${id.toString('hex')}:${g}`;
    let v = cache.get(k);
    if (!v) {
      v = await fromProvider('a file key', () => keys.fileKey(id, g));
      cache.set(k, v);
    }
    return v;
  };
  const stats: CryptoStats = { chunksEncrypted: 0, chunksDecrypted: 0 };
  const referenced = new Set<string>();
  try {
    for (const [path, e] of idx.state.entries) {
      const parent = parentOf(path);
      if (parent !== '/' && idx.state.entries.get(parent)?.type !== 'dir') {
        report.problems.push({ severity: 'error', code: 'integrity', kind: 'index_format', path, message: `parent ${parent} missing from index` });
      }
      if (e.type === 'dir') {
        report.dirs++;
        continue;
      }
      if (e.type === 'symlink') {
        // Authenticated with the index, and its target was validated when the index was decoded.
        // It references no object and is never followed (a dangling link is fine).
        report.symlinks++;
        continue;
      }
      report.files++;
      const object = objectRelPath(e.fileId, e.version);
      referenced.add(object);
      await verifyFile(dir, path, object, e, fileKey, stats, report);
    }
    await scanObjects(dir, referenced, report);
  } finally {
    for (const k of cache.values()) k.fill(0);
  }
  report.chunksVerified = stats.chunksDecrypted;
  report.ok = !report.problems.some((p) => p.severity === 'error');
  return report;
}

async function verifyFile(
  dir: string,
  path: string,
  object: string,
  e: FileEntry,
  fileKey: (id: Buffer, g: number) => Promise<Buffer>,
  stats: CryptoStats,
  report: VerifyReport,
): Promise<void> {
  const expect = { fileId: Buffer.from(e.fileId, 'hex'), headerTag: Buffer.from(e.headerTag, 'hex'), size: e.size, keyGen: e.keyGen };
  let obj;
  try {
    obj = await openObject(join(dir, object), fileKey, stats, expect, { path, object });
  } catch (err) {
    report.problems.push(toProblem(err, { path, object }));
    return;
  }
  try {
    let bad = 0;
    for (let i = 0; i < obj.reader.chunks; i++) {
      try {
        obj.reader.decryptBatch(await obj.reader.readRangeRaw(i, i), i, i);
      } catch (err) {
        report.problems.push(toProblem(err, { path, object }));
        if (++bad >= MAX_CHUNK_PROBLEMS_PER_FILE) break;
      }
    }
  } finally {
    await obj.close();
  }
}

async function scanObjects(dir: string, referenced: Set<string>, report: VerifyReport): Promise<void> {
  const root = join(dir, OBJECTS_DIR);
  for (const sub of await readdir(root).catch(() => [] as string[])) {
    const names = await readdir(join(root, sub)).catch(() => null);
    if (!names) {
      report.problems.push({ severity: 'warning', code: 'integrity', kind: 'unknown_object', object: join(OBJECTS_DIR, sub), message: 'unexpected entry in objects/' });
      continue;
    }
    for (const f of names) {
      const rel = join(OBJECTS_DIR, sub, f);
      const m = OBJECT_RE.exec(f);
      if (!m || m[1]!.slice(0, 2) !== sub) {
        report.problems.push({ severity: 'warning', code: 'integrity', kind: 'unknown_object', object: rel, message: 'file in objects/ is not a SecureFS object name' });
      } else if (!referenced.has(rel)) {
        report.problems.push({ severity: 'warning', code: 'integrity', kind: 'orphan', object: rel, message: 'object not referenced by the index (crash leftover or old version; removed on next open)' });
      }
    }
  }
  for (const f of await readdir(join(dir, TMP_DIR)).catch(() => [] as string[])) {
    report.problems.push({ severity: 'warning', code: 'integrity', kind: 'tmp_leftover', object: join(TMP_DIR, f), message: 'temporary file from an interrupted write' });
  }
}
