import { afterEach, describe, expect, it } from 'vitest';
import { cp, readFile, rm, writeFile, truncate, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createStore, openStore } from './store.js';
import { verifyStore } from './verify.js';
import { objectRelPath, CONF_FILE, INDEX_FILE } from './layout.js';
import { STORED_CHUNK } from './content-object.js';
import { HEADER_LEN } from './header.js';
import { InsecureTestRng } from './insecure-test-rng.js';
import { testKeys, tmpStoreDir, type TestKeys } from './insecure-test-support.js';
import { SecureFsError, type ProblemKind, type SecureFsErrorCode } from './errors.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const A = new InsecureTestRng('A').bytes(4 * 65536 + 1000); // 5 chunks
const B = new InsecureTestRng('B').bytes(3 * 65536 + 77); // 4 chunks

interface Fixture {
  dir: string;
  k: TestKeys;
  objA: string;
  objB: string;
}

async function fixture(seed: string): Promise<Fixture> {
  const dir = await tmpStoreDir('tamper');
  dirs.push(dir);
  const k = testKeys(seed);
  const s = await createStore(dir, k.provider());
  await s.mkdir('/home');
  await s.writeFile('/home/a', A);
  await s.writeFile('/home/b', B);
  const sa = await s.stat('/home/a');
  const sb = await s.stat('/home/b');
  await s.close();
  return { dir, k, objA: join(dir, objectRelPath(sa.fileId!, sa.version!)), objB: join(dir, objectRelPath(sb.fileId!, sb.version!)) };
}

async function mutate(file: string, f: (b: Buffer) => Buffer): Promise<void> {
  await writeFile(file, f(await readFile(file)));
}

const chunkAt = (i: number): number => HEADER_LEN + i * STORED_CHUNK;

/** Reading /home/a must fail with this code/kind, and verifyStore must report the same precisely. */
async function expectDetected(
  fx: Fixture,
  want: { code: SecureFsErrorCode; kind: ProblemKind; chunk?: number; path?: string },
): Promise<void> {
  const path = want.path ?? '/home/a';
  let err: unknown = null;
  try {
    const s = await openStore(fx.dir, fx.k.provider());
    try {
      await s.readFile(path);
    } finally {
      await s.close();
    }
  } catch (e) {
    err = e;
  }
  expect(err, 'tampering must be detected').toBeInstanceOf(SecureFsError);
  const e = err as SecureFsError;
  expect({ code: e.code, kind: e.kind }).toEqual({ code: want.code, kind: want.kind });
  if (want.chunk !== undefined) expect(e.chunk).toBe(want.chunk);
  const rep = await verifyStore(fx.dir, fx.k.provider());
  expect(rep.ok).toBe(false);
  const global = ['epoch_rollback', 'config_mac', 'downgrade', 'index_auth'].includes(e.kind ?? '') && !e.path;
  const hit = rep.problems.find((p) => p.severity === 'error' && p.kind === want.kind && (global || p.path === path));
  expect(hit, JSON.stringify(rep.problems)).toBeDefined();
  if (want.chunk !== undefined) expect(hit!.chunk).toBe(want.chunk);
}

describe('tamper matrix (each detected with a typed error and a precise verify report)', () => {
  it('untampered store verifies clean', async () => {
    const fx = await fixture('clean');
    const rep = await verifyStore(fx.dir, fx.k.provider());
    expect(rep).toMatchObject({ ok: true, files: 2, dirs: 1, chunksVerified: 9, problems: [] });
  });

  it('flip a byte in the header (nonce prefix) → header_tag', async () => {
    const fx = await fixture('h1');
    await mutate(fx.objA, (b) => ((b[30]! ^= 1), b));
    await expectDetected(fx, { code: 'integrity', kind: 'header_tag' });
  });

  it('flip a byte in the header file_id → header_tag (not mistaken for a swap)', async () => {
    const fx = await fixture('h2');
    await mutate(fx.objA, (b) => ((b[9]! ^= 0x40), b));
    await expectDetected(fx, { code: 'integrity', kind: 'header_tag' });
  });

  it('flip a byte in the header tag → header_tag', async () => {
    const fx = await fixture('h3');
    await mutate(fx.objA, (b) => ((b[79]! ^= 1), b));
    await expectDetected(fx, { code: 'integrity', kind: 'header_tag' });
  });

  it('flip a ciphertext byte in chunk 2 → chunk_tag at chunk 2', async () => {
    const fx = await fixture('c1');
    await mutate(fx.objA, (b) => ((b[chunkAt(2) + 100]! ^= 1), b));
    await expectDetected(fx, { code: 'integrity', kind: 'chunk_tag', chunk: 2 });
  });

  it('flip a byte of the Poly1305 tag of chunk 1 → chunk_tag at chunk 1', async () => {
    const fx = await fixture('c2');
    await mutate(fx.objA, (b) => ((b[chunkAt(2) - 1]! ^= 0x80), b));
    await expectDetected(fx, { code: 'integrity', kind: 'chunk_tag', chunk: 1 });
  });

  it('reorder chunks 0 and 1 → chunk_tag at chunk 0', async () => {
    const fx = await fixture('r1');
    await mutate(fx.objA, (b) => {
      const c0 = Buffer.from(b.subarray(chunkAt(0), chunkAt(1)));
      b.copy(b, chunkAt(0), chunkAt(1), chunkAt(2));
      c0.copy(b, chunkAt(1));
      return b;
    });
    await expectDetected(fx, { code: 'integrity', kind: 'chunk_tag', chunk: 0 });
  });

  it('truncate at a chunk boundary (drop the final chunk) → truncation', async () => {
    const fx = await fixture('t1');
    await truncate(fx.objA, chunkAt(4));
    await expectDetected(fx, { code: 'integrity', kind: 'truncation' });
  });

  it('append a (valid-looking) chunk → extra_chunk', async () => {
    const fx = await fixture('t2');
    const b = await readFile(fx.objA);
    await appendFile(fx.objA, b.subarray(chunkAt(0), chunkAt(1)));
    await expectDetected(fx, { code: 'integrity', kind: 'extra_chunk' });
  });

  it('splice chunk 1 of another file into the same position → chunk_tag at chunk 1', async () => {
    const fx = await fixture('s1');
    const other = await readFile(fx.objB);
    await mutate(fx.objA, (b) => (other.copy(b, chunkAt(1), chunkAt(1), chunkAt(2)), b));
    await expectDetected(fx, { code: 'integrity', kind: 'chunk_tag', chunk: 1 });
  });

  it('swap two files’ objects → swapped (for both)', async () => {
    const fx = await fixture('sw');
    const a = await readFile(fx.objA);
    const b = await readFile(fx.objB);
    await writeFile(fx.objA, b);
    await writeFile(fx.objB, a);
    await expectDetected(fx, { code: 'integrity', kind: 'swapped' });
    await expectDetected(fx, { code: 'integrity', kind: 'swapped', path: '/home/b' });
  });

  it('roll one file back to an older authentic version → stale_version', async () => {
    const fx = await fixture('rb1');
    const old = await readFile(fx.objA);
    const s = await openStore(fx.dir, fx.k.provider());
    await s.writeFile('/home/a', Buffer.concat([A, Buffer.from('v2')]));
    const st = await s.stat('/home/a');
    await s.close();
    const cur = join(fx.dir, objectRelPath(st.fileId!, st.version!));
    await writeFile(cur, old);
    await expectDetected(fx, { code: 'integrity', kind: 'stale_version' });
  });

  it('roll back the whole store (old index + old objects) → rollback via the checkpoint', async () => {
    const fx = await fixture('rb2');
    const snap = `${fx.dir}-snap`;
    dirs.push(snap);
    await cp(fx.dir, snap, { recursive: true });
    const s = await openStore(fx.dir, fx.k.provider());
    await s.writeFile('/home/a', 'newer');
    await s.writeFile('/home/c', 'added');
    await s.close();
    await rm(fx.dir, { recursive: true });
    await cp(snap, fx.dir, { recursive: true });
    await expectDetected(fx, { code: 'rollback', kind: 'epoch_rollback' });
  });

  it('an index differing from the checkpoint at the same epoch → rollback (fork)', async () => {
    const fx = await fixture('fork');
    const snap = `${fx.dir}-snap`;
    dirs.push(snap);
    await cp(fx.dir, snap, { recursive: true });
    const s = await openStore(fx.dir, fx.k.provider());
    await s.writeFile('/home/c', 'one');
    await s.close();
    const forkKeys = testKeys('fork'); // same UMK, separate holder: a second history
    const s2 = await openStore(snap, forkKeys.provider());
    await s2.writeFile('/home/c', 'two');
    await s2.close();
    await cp(join(snap, INDEX_FILE), join(fx.dir, INDEX_FILE));
    const e = await openStore(fx.dir, fx.k.provider()).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'rollback', kind: 'checkpoint_mismatch' });
  });

  it('downgrade the header version byte → downgrade', async () => {
    const fx = await fixture('dg1');
    await mutate(fx.objA, (b) => ((b[4] = 0), b));
    await expectDetected(fx, { code: 'integrity', kind: 'downgrade' });
  });

  it('downgrade / tamper sfs.conf → downgrade or config_mac', async () => {
    const fx = await fixture('dg2');
    const conf = join(fx.dir, CONF_FILE);
    const orig = await readFile(conf, 'utf8');
    await writeFile(conf, orig.replace('"format": 1', '"format": 0'));
    await expectDetected(fx, { code: 'integrity', kind: 'downgrade' });
    const o = JSON.parse(orig) as Record<string, unknown>;
    delete o.mac;
    await writeFile(conf, JSON.stringify(o));
    await expectDetected(fx, { code: 'integrity', kind: 'downgrade' });
    await writeFile(conf, orig.replace('"key_gen": 1', '"key_gen": 2'));
    await expectDetected(fx, { code: 'integrity', kind: 'config_mac' });
  });

  it('flip a byte of the encrypted index → index_auth; epoch field edited → index_auth', async () => {
    const fx = await fixture('ix');
    const idx = join(fx.dir, INDEX_FILE);
    const orig = await readFile(idx);
    await writeFile(idx, Buffer.from(orig).fill(orig[100]! ^ 1, 100, 101));
    await expectDetected(fx, { code: 'integrity', kind: 'index_auth' });
    const b = Buffer.from(orig);
    b.writeBigUInt64BE(99n, 24);
    await writeFile(idx, b);
    await expectDetected(fx, { code: 'integrity', kind: 'index_auth' });
  });

  it('a missing object → missing_object; a stray file → warning only', async () => {
    const fx = await fixture('miss');
    await writeFile(join(fx.dir, 'objects', 'zz-stray'), 'x').catch(() => undefined);
    await rm(fx.objA);
    await expectDetected(fx, { code: 'integrity', kind: 'missing_object' });
  });
});
