import { afterEach, describe, expect, it } from 'vitest';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from './store.js';
import { verifyStore } from './verify.js';
import { decodeIndex, encodeIndex, sealIndex, INDEX_VERSION, INDEX_VERSION_SYMLINKS, SYMLINK_MAX_BYTES } from './index-file.js';
import { deriveIndexKey } from './key-provider.js';
import { INDEX_FILE, OBJECTS_DIR, objectRelPath } from './layout.js';
import { HEADER_LEN } from './header.js';
import { errorCode, storeDirs, testKeys } from './insecure-test-support.js';
import { SecureFsError } from './errors.js';

const dirs = storeDirs('symlink');
afterEach(() => dirs.cleanup());
const fresh = dirs.fresh;
const code = errorCode;

async function objectFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, OBJECTS_DIR), { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(e.name);
  return out.sort();
}

describe('SecureStore symlinks', () => {
  it('symlink / readlink / stat (lstat semantics) / list / exists; relative, absolute, dangling, non-ASCII', async () => {
    const { store } = await fresh('basic');
    await store.mkdir('/docs');
    await store.writeFile('/docs/a.txt', 'hello');
    const before = Date.now();
    await store.symlink('a.txt', '/docs/rel');
    await store.symlink('/home/u/docs/a.txt', '/docs/abs');
    await store.symlink('../nowhere/at/all', '/docs/dangling');
    await store.symlink('ünï/cødé', 'docs/uni'); // relative store path is taken from the root
    expect(await store.readlink('/docs/rel')).toBe('a.txt');
    expect(await store.readlink('docs//abs')).toBe('/home/u/docs/a.txt');
    expect(await store.readlink('/docs/dangling')).toBe('../nowhere/at/all');
    expect(await store.readlink('/docs/uni')).toBe('ünï/cødé');

    const st = await store.stat('/docs/rel');
    expect(st).toMatchObject({ type: 'symlink', size: 5, mode: 0o777, target: 'a.txt' });
    expect(st.fileId).toBeUndefined();
    expect(st.mtimeMs).toBeGreaterThanOrEqual(before);
    expect((await store.stat('/docs/uni')).size).toBe(Buffer.byteLength('ünï/cødé')); // bytes, not characters
    expect(await store.exists('/docs/dangling')).toBe(true); // the link exists even though its target does not
    expect((await store.stat('/docs')).mtimeMs).toBeGreaterThanOrEqual(before); // parent touched

    expect(await store.readdir('/docs')).toEqual(['a.txt', 'abs', 'dangling', 'rel', 'uni']);
    const list = await store.list('/docs');
    expect(list.map((e) => [e.name, e.type, e.target])).toEqual([
      ['a.txt', 'file', undefined],
      ['abs', 'symlink', '/home/u/docs/a.txt'],
      ['dangling', 'symlink', '../nowhere/at/all'],
      ['rel', 'symlink', 'a.txt'],
      ['uni', 'symlink', 'ünï/cødé'],
    ]);
    // Creating a link reads nothing and encrypts nothing.
    expect(store.stats.chunksEncrypted).toBe(1);
    await store.close();
  });

  it('argument and target checks use the typed errors', async () => {
    const { store } = await fresh('args');
    await store.mkdir('/d');
    await store.writeFile('/f', 'x');
    await store.symlink('d', '/ld');
    expect(await code(store.symlink('x', '/f'))).toBe('exists');
    expect(await code(store.symlink('x', '/d'))).toBe('exists');
    expect(await code(store.symlink('other', '/ld'))).toBe('exists');
    expect(await code(store.symlink('x', '/'))).toBe('exists');
    expect(await code(store.symlink('x', '/missing/l'))).toBe('not_found');
    expect(await code(store.symlink('x', '/f/l'))).toBe('not_dir');
    expect(await code(store.symlink('x', '/ld/l'))).toBe('not_dir'); // never through a link
    expect(await code(store.symlink('', '/l'))).toBe('invalid_argument');
    expect(await code(store.symlink('a\0b', '/l'))).toBe('invalid_argument');
    expect(await code(store.symlink('x'.repeat(SYMLINK_MAX_BYTES + 1), '/l'))).toBe('invalid_argument');
    expect(await code(store.symlink('é'.repeat(2048), '/l'))).toBe('invalid_argument'); // 4096 bytes
    expect(await code(store.symlink(42 as unknown as string, '/l'))).toBe('invalid_argument');
    expect(await code(store.symlink('x', '/a\0'))).toBe('invalid_path');
    await store.symlink('x'.repeat(SYMLINK_MAX_BYTES), '/longest');
    expect((await store.stat('/longest')).size).toBe(4095);
    expect(await code(store.readlink('/f'))).toBe('invalid_argument');
    expect(await code(store.readlink('/d'))).toBe('invalid_argument');
    expect(await code(store.readlink('/'))).toBe('invalid_argument');
    expect(await code(store.readlink('/nope'))).toBe('not_found');
    expect(await store.readdir('/')).toEqual(['d', 'f', 'ld', 'longest']);
    await store.close();
  });

  it('never follows a link: content access, writes, mkdir, readdir and rmdir at a link fail, target untouched', async () => {
    const { store } = await fresh('nofollow');
    await store.mkdir('/d');
    await store.writeFile('/d/t.txt', 'target content');
    await store.symlink('d/t.txt', '/lf');
    await store.symlink('d', '/ld');
    await store.symlink('nothing-here', '/dangling');
    const epoch = store.epoch;
    expect(await code(store.writeFile('/lf', 'overwrite?'))).toBe('is_symlink');
    expect(await code(store.writeFile('/dangling', 'create through?'))).toBe('is_symlink');
    expect(await code(store.writeFile('/ld/new.txt', 'x'))).toBe('is_symlink');
    expect(await code(() => store.createWriteStream('/lf'))).toBe('is_symlink');
    expect(await code(store.readFile('/lf'))).toBe('is_symlink');
    expect(await code(store.read('/lf', 0, 4))).toBe('is_symlink');
    expect(await code(() => store.createReadStream('/lf'))).toBe('is_symlink');
    expect(await code(store.mkdir('/ld'))).toBe('exists');
    expect(await code(store.mkdir('/ld', { recursive: true }))).toBe('exists');
    expect(await code(store.mkdir('/ld/sub', { recursive: true }))).toBe('not_dir');
    expect(await code(store.readdir('/ld'))).toBe('not_dir');
    expect(await code(store.list('/ld'))).toBe('not_dir');
    expect(await code(store.rmdir('/ld'))).toBe('not_dir');
    expect(await code(store.setAttributes('/lf', { mode: 0o600 }))).toBe('invalid_argument');
    expect(store.epoch).toBe(epoch); // nothing committed
    expect(store.stats.chunksEncrypted).toBe(1); // no write got as far as encrypting
    expect((await store.readFile('/d/t.txt')).toString()).toBe('target content');
    expect(await store.readlink('/lf')).toBe('d/t.txt');
    expect(await store.exists('/nothing-here')).toBe(false);
    expect(await store.exists('/d/new.txt')).toBe(false);
    // mtime of the link itself can be set (utimens with AT_SYMLINK_NOFOLLOW, `touch -h`).
    await store.setAttributes('/lf', { mtimeMs: 1_000_000 });
    expect(await store.stat('/lf')).toMatchObject({ type: 'symlink', mtimeMs: 1_000_000, mode: 0o777 });
    await store.close();
  });

  it('unlink removes the link only; rmdir of a dir holding a link is not_empty', async () => {
    const { dir, store, k } = await fresh('unlink');
    await store.mkdir('/d');
    await store.writeFile('/t.txt', 'keep me');
    await store.symlink('../t.txt', '/d/l');
    expect(await code(store.rmdir('/d'))).toBe('not_empty');
    const objs = await objectFiles(dir);
    await store.unlink('/d/l');
    expect(await store.exists('/d/l')).toBe(false);
    expect((await store.readFile('/t.txt')).toString()).toBe('keep me');
    expect(await objectFiles(dir)).toEqual(objs); // no object belonged to the link
    expect(await code(store.unlink('/d/l'))).toBe('not_found');
    expect(await code(store.unlink('/d'))).toBe('is_dir');
    await store.rmdir('/d');
    expect((await verifyStore(dir, k.provider())).ok).toBe(true);
    await store.close();
  });

  it('rename moves a link (text unchanged) and follows POSIX replacement rules; links inside a moved dir move too', async () => {
    const { dir, store, k } = await fresh('rename');
    await store.mkdir('/a');
    await store.mkdir('/b');
    await store.mkdir('/empty');
    await store.writeFile('/a/f.txt', 'file');
    await store.writeFile('/victim.txt', 'replaced');
    await store.symlink('f.txt', '/a/l');
    await store.rename('/a/l', '/b/l2');
    expect(await store.exists('/a/l')).toBe(false);
    expect(await store.readlink('/b/l2')).toBe('f.txt'); // not rewritten: now dangles, like POSIX
    // link over a file: the file's object is released
    const victim = await store.stat('/victim.txt');
    await store.rename('/b/l2', '/victim.txt');
    expect(await store.readlink('/victim.txt')).toBe('f.txt');
    expect(await objectFiles(dir)).not.toContain(objectRelPath(victim.fileId!, victim.version!).split('/').pop());
    // file over a link
    await store.symlink('x', '/b/lx');
    await store.rename('/a/f.txt', '/b/lx');
    expect(await store.stat('/b/lx')).toMatchObject({ type: 'file', size: 4 });
    expect((await store.readFile('/b/lx')).toString()).toBe('file');
    // link over a link
    await store.symlink('one', '/l1');
    await store.symlink('two', '/l2');
    await store.rename('/l1', '/l2');
    expect(await store.readlink('/l2')).toBe('one');
    // link over a dir, dir over a link
    expect(await code(store.rename('/l2', '/empty'))).toBe('is_dir');
    expect(await code(store.rename('/empty', '/l2'))).toBe('not_dir');
    // a directory holding links moves with them
    await store.symlink('/abs/target', '/a/inner');
    await store.rename('/a', '/moved');
    expect(await store.readlink('/moved/inner')).toBe('/abs/target');
    expect(await store.exists('/a/inner')).toBe(false);
    const rep = await verifyStore(dir, k.provider());
    expect(rep).toMatchObject({ ok: true, symlinks: 3, problems: [] });
    await store.close();
  });

  it('persists across close + open; verify counts links; the index is version 2 only while it holds a link', async () => {
    const { dir, store, k } = await fresh('persist');
    await store.writeFile('/f', 'data');
    await store.close();
    const idx = () => readFile(join(dir, INDEX_FILE));
    expect((await idx())[4]).toBe(INDEX_VERSION); // no links: the old format, byte for byte

    let s = await openStore(dir, k.provider());
    await s.mkdir('/cfg');
    await s.symlink('/usr/share/applications', '/cfg/apps');
    await s.symlink('../f', '/cfg/f-link');
    const mt = (await s.stat('/cfg/apps')).mtimeMs;
    await s.close();
    expect((await idx())[4]).toBe(INDEX_VERSION_SYMLINKS);

    s = await openStore(dir, k.provider());
    expect(await s.readlink('/cfg/apps')).toBe('/usr/share/applications');
    expect(await s.stat('/cfg/apps')).toMatchObject({ type: 'symlink', mtimeMs: mt, mode: 0o777, size: 23 });
    expect((await s.list('/cfg')).map((e) => `${e.name}:${e.type}`)).toEqual(['apps:symlink', 'f-link:symlink']);
    const rep = await verifyStore(dir, k.provider());
    expect(rep).toMatchObject({ ok: true, files: 1, dirs: 1, symlinks: 2, problems: [] });
    await s.unlink('/cfg/apps');
    await s.unlink('/cfg/f-link');
    await s.close();
    expect((await idx())[4]).toBe(INDEX_VERSION); // back to version 1 once no link is left

    s = await openStore(dir, k.provider());
    expect(await s.readdir('/cfg')).toEqual([]);
    expect((await s.readFile('/f')).toString()).toBe('data');
    await s.close();
  });

  it('tampering is still detected in a store with links', async () => {
    const { dir, store, k } = await fresh('tamper');
    await store.writeFile('/f', Buffer.alloc(70_000, 3)); // 2 chunks
    await store.symlink('f', '/l');
    const st = await store.stat('/f');
    await store.close();
    const indexPath = join(dir, INDEX_FILE);
    const good = await readFile(indexPath);
    const expectOpen = async (want: string) => {
      let got = 'ok';
      try {
        const s = await openStore(dir, k.provider());
        await s.close();
      } catch (e) {
        got = e instanceof SecureFsError ? `${e.code}/${e.kind}` : String(e);
      }
      expect(got).toBe(want);
      const rep = await verifyStore(dir, k.provider());
      expect(rep.ok).toBe(false);
      expect(rep.problems.map((p) => `${p.code}/${p.kind}`)).toContain(want);
    };
    // A flipped ciphertext byte of the index (where the link target lives).
    const b1 = Buffer.from(good);
    b1[b1.length - 20]! ^= 1;
    await writeFile(indexPath, b1);
    await expectOpen('integrity/index_auth');
    // Downgrading the version byte (2 → 1) to smuggle links past a v1 reader: the header is in the AAD.
    const b2 = Buffer.from(good);
    b2[4] = INDEX_VERSION;
    await writeFile(indexPath, b2);
    await expectOpen('integrity/index_auth');
    // An unknown future version is refused as such.
    const b3 = Buffer.from(good);
    b3[4] = 3;
    await writeFile(indexPath, b3);
    await expectOpen('unsupported_version/unsupported');
    // Restore the index; flip a chunk byte of the file: still found, with the file's path.
    await writeFile(indexPath, good);
    const obj = join(dir, objectRelPath(st.fileId!, st.version!));
    const o = await readFile(obj);
    o[HEADER_LEN + 65536 + 16 + 5]! ^= 0x80; // inside chunk 1
    await writeFile(obj, o);
    const rep = await verifyStore(dir, k.provider());
    expect(rep.ok).toBe(false);
    expect(rep.symlinks).toBe(1);
    expect(rep.problems).toEqual([expect.objectContaining({ code: 'integrity', kind: 'chunk_tag', path: '/f', chunk: 1 })]);
    const s = await openStore(dir, k.provider());
    expect(await s.readlink('/l')).toBe('f'); // the link itself is fine
    expect(await code(s.readFile('/f'))).toBe('integrity/chunk_tag');
    await s.close();
  });
});

describe('index decoding: symlink entries and malformed entries', () => {
  const k = testKeys('decode');
  const kIndex = deriveIndexKey(k.umk, k.storeId);
  const seal = (body: unknown, version = INDEX_VERSION_SYMLINKS) => sealIndex(Buffer.from(JSON.stringify(body)), version, 7, kIndex, k.storeId);
  const decode = (bytes: Buffer) => code(() => decodeIndex(bytes, kIndex, k.storeId));
  const dir = { t: 'd', m: 1, p: 0o700 };
  const file = { t: 'f', id: 'ab'.repeat(16), v: 1, h: 'cd'.repeat(32), g: 1, s: 0, m: 1, p: 0o600 };

  it('round-trips every entry type; the version follows the presence of links', () => {
    const entries = new Map([
      ['/d', { type: 'dir' as const, mtimeMs: 5, mode: 0o750 }],
      ['/d/l', { type: 'symlink' as const, target: '../x y/z', mtimeMs: 6, mode: 0o777 as const }],
      ['/f', { type: 'file' as const, fileId: 'ab'.repeat(16), version: 3, headerTag: 'cd'.repeat(32), keyGen: 1, size: 10, mtimeMs: 7, mode: 0o644 }],
    ]);
    const bytes = encodeIndex({ epoch: 9, entries }, kIndex, k.storeId);
    expect(bytes[4]).toBe(INDEX_VERSION_SYMLINKS);
    expect(decodeIndex(bytes, kIndex, k.storeId)).toEqual({ epoch: 9, entries });
    entries.delete('/d/l');
    const v1 = encodeIndex({ epoch: 10, entries }, kIndex, k.storeId);
    expect(v1[4]).toBe(INDEX_VERSION);
    expect(decodeIndex(v1, kIndex, k.storeId).entries).toEqual(entries);
  });

  it('an index written before symlinks existed (v1 body) still reads unchanged', () => {
    const bytes = seal({ v: 1, entries: [['/d', dir], ['/d/f', file]] }, INDEX_VERSION);
    const st = decodeIndex(bytes, kIndex, k.storeId);
    expect([...st.entries.keys()]).toEqual(['/d', '/d/f']);
    expect(st.entries.get('/d/f')).toMatchObject({ type: 'file', fileId: 'ab'.repeat(16), version: 1, size: 0, mode: 0o600 });
  });

  it('rejects malformed symlink entries (integrity/index_format)', async () => {
    const link = (x: unknown, extra: object = {}) => seal({ v: 2, entries: [['/l', { t: 'l', x, m: 1, ...extra }]] });
    expect(await decode(link('ok'))).toBe('ok');
    expect(await decode(link('x'.repeat(SYMLINK_MAX_BYTES)))).toBe('ok');
    expect(await decode(link(''))).toBe('integrity/index_format');
    expect(await decode(link('a\0b'))).toBe('integrity/index_format');
    expect(await decode(link('x'.repeat(SYMLINK_MAX_BYTES + 1)))).toBe('integrity/index_format');
    expect(await decode(link('ü'.repeat(2048)))).toBe('integrity/index_format'); // 4096 bytes
    expect(await decode(link(7))).toBe('integrity/index_format');
    expect(await decode(link(null))).toBe('integrity/index_format');
    expect(await decode(link(undefined))).toBe('integrity/index_format');
    expect(await decode(link('ok', { m: 'soon' }))).toBe('integrity/index_format');
    // A link in a version-1 index (no writer produces one).
    expect(await decode(seal({ v: 1, entries: [['/l', { t: 'l', x: 'ok', m: 1 }]] }, INDEX_VERSION))).toBe('integrity/index_format');
  });

  it('rejects other malformed bodies and entries instead of guessing', async () => {
    const bad = async (body: unknown, version = INDEX_VERSION_SYMLINKS) => expect(await decode(seal(body, version))).toBe('integrity/index_format');
    await bad({ v: 2, entries: [['/x', { t: 'q', m: 1, p: 1 }]] }); // unknown type (used to be read as a directory)
    await bad({ v: 2, entries: [['/x', null]] });
    await bad({ v: 2, entries: [['/x']] });
    await bad({ v: 2, entries: ['/x'] });
    await bad({ v: 2, entries: [[7, dir]] });
    await bad({ v: 2, entries: [['x', dir]] });
    await bad({ v: 2, entries: [['/', dir]] });
    await bad({ v: 2, entries: [['/a/../b', dir]] });
    await bad({ v: 2, entries: [['/a//b', dir]] });
    await bad({ v: 2, entries: [['/a', dir], ['/a', dir]] });
    await bad({ v: 2, entries: [['/f', { ...file, id: 'zz' }]] });
    await bad({ v: 2, entries: [['/f', { ...file, s: -1 }]] });
    await bad({ v: 2, entries: [['/d', { t: 'd', m: 1 }]] });
    await bad({ v: 1, entries: [] }); // body version must match the header
    await bad({ v: 2, entries: [] }, INDEX_VERSION);
    await bad(null);
    await bad([]);
    expect(await decode(seal({ v: 3, entries: [] }, 3))).toBe('unsupported_version/unsupported');
  });

  it('a store whose authentic index holds a malformed link is refused by open and by verify', async () => {
    const { dir, store, k: sk } = await fresh('bad-store');
    await store.close();
    const key = deriveIndexKey(sk.umk, sk.storeId);
    await writeFile(join(dir, INDEX_FILE), sealIndex(Buffer.from(JSON.stringify({ v: 2, entries: [['/l', { t: 'l', x: '', m: 1 }]] })), 2, 2, key, sk.storeId));
    expect(await code(openStore(dir, sk.provider()))).toBe('integrity/index_format');
    const rep = await verifyStore(dir, sk.provider());
    expect(rep.ok).toBe(false);
    expect(rep.problems).toEqual([expect.objectContaining({ code: 'integrity', kind: 'index_format' })]);
  });
});
