import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/lib/securefs/index.js';
import { canMount } from './can-mount.js';
import { cleanupMounts, heldWriter, ok, run, setupMount, until } from './fixture.js';

/**
 * Files larger than the mount's write buffer (1 MiB here): sequential writes are streamed into a
 * new version, so `cp`, downloads and appends work at any size; only non-sequential writes to
 * such a file are refused (EFBIG). As in every FUSE test, the mount is only touched from child
 * processes.
 */

const BUF = 1 << 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

afterEach(cleanupMounts);

describe.skipIf(!canMount)('securefs-fuse: files larger than the write buffer', () => {
  it('cp of a file 6× the buffer: exact content, never buffered, one committed version', async () => {
    const { mnt, base, store, storeDir, keys, m } = await setupMount('sfs-big-', { maxFileBuffer: BUF });
    const src = randomBytes(6 * BUF + 12345);
    await writeFile(path.join(base, 'src'), src);
    const commits = m.stats.commits;
    await ok(`cp '${base}/src' '${mnt}/big' && cmp '${base}/src' '${mnt}/big' && stat -c %s '${mnt}/big'`);
    expect(sha(await store.readFile('/big'))).toBe(sha(src));
    expect(m.stats.commits - commits).toBe(1);
    expect(m.stats).toMatchObject({ streamingFiles: 0, dirtyFiles: 0, bufferedBytes: 0 });
    expect((await verifyStore(storeDir, keys())).problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('appending to a file larger than the buffer (>>) streams the old content and the new', async () => {
    const { mnt, base, store } = await setupMount('sfs-big-', { maxFileBuffer: BUF });
    const a = randomBytes(3 * BUF);
    const b = randomBytes(BUF + 7);
    await writeFile(path.join(base, 'a'), a);
    await writeFile(path.join(base, 'b'), b);
    await ok(`cat '${base}/a' > '${mnt}/log' && cat '${base}/b' >> '${mnt}/log'`);
    expect(sha(await store.readFile('/log'))).toBe(sha(Buffer.concat([a, b])));
  });

  it('a small file that grows past the buffer by appending moves from memory to streaming', async () => {
    const { mnt, base, store } = await setupMount('sfs-big-', { maxFileBuffer: BUF });
    const more = randomBytes(3 * BUF);
    await writeFile(path.join(base, 'more'), more);
    await ok(`printf 0123456789 > '${mnt}/grow' && cat '${base}/more' >> '${mnt}/grow'`);
    expect(sha(await store.readFile('/grow'))).toBe(sha(Buffer.concat([Buffer.from('0123456789'), more])));
  });

  it('reading a file while it is being written returns what was written so far', async () => {
    const { mnt } = await setupMount('sfs-big-', { maxFileBuffer: BUF });
    const out = await ok(`exec 3>'${mnt}/rw'; printf abc >&3; cat '${mnt}/rw'; echo; printf def >&3; stat -c %s '${mnt}/rw'; exec 3>&-; cat '${mnt}/rw'`);
    expect(out).toBe('abc\n6\nabcdef');
  });

  it('a version being streamed is committed when the home is locked, and writing goes on after unlock', async () => {
    const { mnt, base, store, m } = await setupMount('sfs-big-', { maxFileBuffer: BUF, lockedWaitMs: 10_000 });
    const part1 = randomBytes(3 * BUF);
    const part2 = randomBytes(BUF / 2);
    await writeFile(path.join(base, 'p1'), part1);
    await writeFile(path.join(base, 'p2'), part2);
    const writer = (await heldWriter(base, `${mnt}/held`, [`${base}/p1`], [`${base}/p2`])).done;
    expect(m.stats.streamingFiles).toBe(1);
    await m.detach();
    expect(sha(await store.readFile('/held'))).toBe(sha(part1));
    m.attach(store);
    await writeFile(path.join(base, 'go'), '');
    expect((await writer).code).toBe(0);
    expect(sha(await store.readFile('/held'))).toBe(sha(Buffer.concat([part1, part2])));
  });

  it('a file removed or renamed while being streamed: nothing resurrects, the rename keeps the content', async () => {
    const { mnt, base, store } = await setupMount('sfs-big-', { maxFileBuffer: BUF });
    await writeFile(path.join(base, 'src'), randomBytes(2 * BUF));
    await ok(`exec 3>'${mnt}/gone'; cat '${base}/src' >&3; rm '${mnt}/gone'; cat '${base}/src' >&3; exec 3>&-`);
    // libfuse keeps an open, removed file as .fuse_hidden… until the kernel's RELEASE, which
    // arrives asynchronously after the last close.
    for (let i = 0; i < 100 && (await ok(`ls -A '${mnt}'`)).trim() !== ''; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await ok(`ls -A '${mnt}'`)).trim()).toBe('');
    expect((await store.list('/')).map((e) => e.name)).toEqual([]);
    await ok(`exec 3>'${mnt}/old'; cat '${base}/src' >&3; mv '${mnt}/old' '${mnt}/new'; cat '${base}/src' >&3; exec 3>&-`);
    const src = await readFile(path.join(base, 'src'));
    expect((await store.list('/')).map((e) => e.name)).toEqual(['new']);
    expect(sha(await store.readFile('/new'))).toBe(sha(Buffer.concat([src, src])));
  });

  it('a rewrite in place with fsync on an open descriptor does not keep the old version on disk', async () => {
    const { mnt, base, store, storeDir } = await setupMount('sfs-big-');
    const objects = async () => (await readdir(path.join(storeDir, 'objects'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
    await ok(`head -c 3000000 /dev/urandom > '${mnt}/db'`);
    const script = [
      `const fs = require('fs');`,
      `const fd = fs.openSync('${mnt}/db', 'r+');`,
      `fs.readSync(fd, Buffer.alloc(4096), 0, 4096, 0);`,
      `for (let i = 0; i < 3; i++) { fs.writeSync(fd, Buffer.alloc(100, 120), 0, 100, 4096 * i); fs.fsyncSync(fd); }`,
      `fs.writeFileSync('${base}/phase1', '');`,
      `while (!fs.existsSync('${base}/done')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);`,
      `fs.closeSync(fd);`,
    ].join(' ');
    await writeFile(path.join(base, 'db.cjs'), script);
    const p = run(`'${process.execPath}' '${base}/db.cjs'`, { timeoutMs: 60_000 });
    await until(path.join(base, 'phase1'));
    await store.idle();
    expect(await objects()).toBe(1); // only the current version, though the descriptor read the first one
    await writeFile(path.join(base, 'done'), '');
    expect((await p).code).toBe(0);
  });
});
