/**
 * INSECURE — helpers for the SecureFS tests only (deterministic keys from a seed). Never import
 * from production code; `rng-isolation.test.ts` enforces it.
 */
import { mkdtemp, readFile, writeFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InsecureTestRng } from './insecure-test-rng.js';
import { SecureFsError } from './errors.js';
import { MemoryCheckpointHolder, umkKeyProvider, type IndexCheckpoint, type KeyProvider } from './key-provider.js';
import { createStore, type SecureStore } from './store.js';

export async function tmpStoreDir(tag = 'sfs'): Promise<string> {
  const base = process.env.SFS_TEST_TMP ?? tmpdir();
  return mkdtemp(join(base, `${tag}-`));
}

/**
 * Temp store directories of one test file: `dir()` a new empty one, `fresh(seed)` a new store
 * (deterministic keys) in one; `cleanup()` (from afterEach) removes them all.
 */
export function storeDirs(tag = 'sfs'): {
  dir(): Promise<string>;
  fresh(seed: string): Promise<{ dir: string; store: SecureStore; k: TestKeys }>;
  cleanup(): Promise<void>;
} {
  const made: string[] = [];
  const dir = async (): Promise<string> => {
    const d = await tmpStoreDir(tag);
    made.push(d);
    return d;
  };
  return {
    dir,
    async fresh(seed) {
      const d = await dir();
      const k = testKeys(seed);
      return { dir: d, store: await createStore(d, k.provider()), k };
    },
    async cleanup() {
      for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** The SecureFsError code (`code/kind` for integrity errors) a promise rejects with, or 'ok'. */
export async function errorCode(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof SecureFsError) return e.kind ? `${e.code}/${e.kind}` : e.code;
    throw e;
  }
  return 'ok';
}

export interface TestKeys {
  umk: Buffer;
  storeId: Buffer;
  holder: MemoryCheckpointHolder;
  /** A fresh provider over the same UMK and checkpoint holder. */
  provider(): KeyProvider;
}

export function testKeys(seed: string | number): TestKeys {
  const rng = new InsecureTestRng(seed);
  const umk = rng.bytes(32);
  const storeId = rng.bytes(16);
  const holder = new MemoryCheckpointHolder();
  return { umk, storeId, holder, provider: () => umkKeyProvider(umk, storeId, { checkpoints: holder }) };
}

/** A checkpoint holder persisted in a JSON file (so it survives a killed child process). */
export class FileCheckpointHolder extends MemoryCheckpointHolder {
  constructor(private readonly file: string) {
    super();
  }
  override async checkpoint(epoch: number, indexHash: Buffer): Promise<void> {
    const cur = await this.lastCheckpoint();
    if (cur && epoch < cur.epoch) throw new Error(`checkpoint regression ${epoch} < ${cur.epoch}`);
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ epoch, hash: indexHash.toString('hex') }));
    await rename(tmp, this.file);
  }
  override async lastCheckpoint(): Promise<IndexCheckpoint | null> {
    try {
      const o = JSON.parse(await readFile(this.file, 'utf8')) as { epoch: number; hash: string };
      return { epoch: o.epoch, indexHash: Buffer.from(o.hash, 'hex') };
    } catch {
      return null;
    }
  }
}

/** Deterministic content for file i at generation g (crash test). */
export function crashContent(i: number, g: number): Buffer {
  const rng = new InsecureTestRng(`content:${i}:${g}`);
  const len = [0, 1, 65536, 65537, 200_000, 131_072, 5000][(i + g) % 7]!;
  return rng.bytes(len);
}
