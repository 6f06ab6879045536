import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/lib/securefs/index.js';
import { isMounted } from '../../src/lib/securefs-fuse/index.js';
import { canMount } from './can-mount.js';
import { cleanupMounts, ok, run, setupMount } from './fixture.js';

/**
 * Real FUSE mounts (root, /dev/fuse, libfuse2). The mount is served on this process's event loop,
 * so the tests only ever touch it from child processes (a synchronous fs call here would hang).
 */

const NOBODY = 65534;

/** Every byte under `dir`, concatenated (to search for plaintext). */
async function allBytes(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) parts.push(await readFile(path.join(e.parentPath, e.name)));
  }
  return Buffer.concat(parts);
}

afterEach(cleanupMounts);


describe.skipIf(!canMount)('securefs-fuse: a store mounted with FUSE', () => {
  it('write, read, list, rename, mkdir/rmdir, unlink, chmod, truncate from a child process', async () => {
    const { mnt, store, storeDir, keys, m } = await setupMount('sfs-fuse-');
    expect(await isMounted(mnt)).toBe(true);
    const marker = 'PLAINTEXT-' + randomBytes(12).toString('hex');
    await ok(`cd '${mnt}' && printf '%s' '${marker}' > a.txt && mkdir -p d/e && echo second > d/e/b.txt`);
    expect(await ok(`cat '${mnt}/a.txt'`)).toBe(marker);
    expect((await ok(`ls -a '${mnt}'`)).split('\n').filter(Boolean).sort()).toEqual(['.', '..', 'a.txt', 'd']);
    expect(await ok(`cat '${mnt}/d/e/b.txt'`)).toBe('second\n');
    // The store agrees (async API, same process: fine).
    expect((await store.readFile('/a.txt')).toString()).toBe(marker);
    expect(await store.readdir('/d/e')).toEqual(['b.txt']);

    // Append, overwrite in the middle, truncate.
    await ok(`cd '${mnt}' && echo more >> d/e/b.txt && printf 'XY' | dd of=d/e/b.txt bs=1 seek=1 conv=notrunc 2>/dev/null`);
    expect(await ok(`cat '${mnt}/d/e/b.txt'`)).toBe('sXYond\nmore\n');
    await ok(`truncate -s 3 '${mnt}/d/e/b.txt'`);
    expect(await ok(`cat '${mnt}/d/e/b.txt'`)).toBe('sXY');
    await ok(`truncate -s 5 '${mnt}/d/e/b.txt'`);
    expect(Buffer.from(await ok(`cat '${mnt}/d/e/b.txt'`), 'latin1')).toEqual(Buffer.from('sXY\0\0'));
    expect(await ok(`stat -c %s '${mnt}/d/e/b.txt'`)).toBe('5\n');

    // Rename (file and directory), chmod, unlink, rmdir.
    await ok(`cd '${mnt}' && mv a.txt d/a2.txt && mv d/e d/f`);
    expect(await ok(`cat '${mnt}/d/a2.txt'`)).toBe(marker);
    expect(await ok(`ls '${mnt}/d/f'`)).toBe('b.txt\n');
    await ok(`chmod 640 '${mnt}/d/a2.txt' && chmod 750 '${mnt}/d/f'`);
    expect(await ok(`stat -c '%a %F' '${mnt}/d/a2.txt' '${mnt}/d/f'`)).toBe('640 regular file\n750 directory\n');
    expect((await store.stat('/d/a2.txt')).mode).toBe(0o640);
    await ok(`touch -d '2001-02-03 04:05:06 UTC' '${mnt}/d/a2.txt'`);
    expect((await store.stat('/d/a2.txt')).mtimeMs).toBe(Date.UTC(2001, 1, 3, 4, 5, 6));
    const r = await run(`rmdir '${mnt}/d/f'`);
    expect(r.stderr).toMatch(/not empty/i);
    await ok(`rm '${mnt}/d/f/b.txt' && rmdir '${mnt}/d/f'`);
    expect((await run(`cat '${mnt}/nope'`)).stderr).toMatch(/No such file/);
    expect((await run(`mkdir '${mnt}/d'`)).stderr).toMatch(/File exists/);
    expect((await run(`ls '${mnt}/d/a2.txt/x'`)).stderr).toMatch(/Not a directory/);
    expect(await store.readdir('/d')).toEqual(['a2.txt']);
    expect(await ok(`df -k '${mnt}' | tail -1`)).toMatch(/securefs/);
    // The FUSE connection is close-on-exec: no child inherits /dev/fuse.
    expect(await ok(`for f in /proc/$$/fd/*; do readlink "$f"; done | grep -c /dev/fuse || true`)).toBe('0\n');

    // Nothing in the store directory holds the plaintext; the store verifies.
    expect((await allBytes(storeDir)).includes(marker)).toBe(false);
    const report = await verifyStore(storeDir, keys());
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    await m.unmount();
    expect(await isMounted(mnt)).toBe(false);
  });

  it('a multi-chunk file: sequential copy and random reads are exact; ciphertext only on disk', async () => {
    const { mnt, base, storeDir, store, keys } = await setupMount('sfs-fuse-');
    const big = randomBytes(5 * 65536 + 12345);
    await writeFile(path.join(base, 'big.bin'), big);
    const t0 = Date.now();
    await ok(`cp '${base}/big.bin' '${mnt}/big.bin' && cmp '${base}/big.bin' '${mnt}/big.bin'`);
    const copyMs = Date.now() - t0;
    expect((await store.stat('/big.bin')).size).toBe(big.length);
    // Random preads from a node child, compared with the original.
    const script = `
      const fs = require('fs');
      const a = fs.openSync(${JSON.stringify(path.join(mnt, 'big.bin'))}, 'r');
      const b = fs.readFileSync(${JSON.stringify(path.join(base, 'big.bin'))});
      let bad = 0;
      for (let i = 0; i < 300; i++) {
        const off = Math.floor(Math.random() * b.length);
        const len = 1 + Math.floor(Math.random() * 150000);
        const buf = Buffer.alloc(len);
        const n = fs.readSync(a, buf, 0, len, off);
        if (n !== Math.min(len, b.length - off) || !buf.subarray(0, n).equals(b.subarray(off, off + n))) bad++;
      }
      console.log(bad);`;
    expect((await ok(`node -e "${script.replace(/"/g, '\\"')}"`)).trim()).toBe('0');
    // Rewrite one byte in the middle: a new version, still exact.
    await ok(`printf 'Z' | dd of='${mnt}/big.bin' bs=1 seek=200000 conv=notrunc 2>/dev/null`);
    big[200000] = 'Z'.charCodeAt(0);
    expect((await store.readFile('/big.bin')).equals(big)).toBe(true);
    const disk = await allBytes(storeDir);
    expect(disk.includes(big.subarray(70000, 70064))).toBe(false);
    expect((await verifyStore(storeDir, keys())).problems.filter((p) => p.severity === 'error')).toEqual([]);
    console.log(`securefs-fuse: cp of ${big.length} bytes into the mount took ${copyMs} ms`);
  });

  it('throughput: 48 MiB sequential write and read through the mount (printed)', async () => {
    const { mnt, base, store } = await setupMount('sfs-fuse-');
    const size = 48 << 20;
    await writeFile(path.join(base, 'src.bin'), randomBytes(size));
    let t = Date.now();
    await ok(`cp '${base}/src.bin' '${mnt}/big.bin'`, { timeoutMs: 120_000 });
    const writeMs = Date.now() - t;
    t = Date.now();
    await ok(`cat '${mnt}/big.bin' > /dev/null`, { timeoutMs: 120_000 });
    const readMs = Date.now() - t;
    await ok(`cmp '${base}/src.bin' '${mnt}/big.bin'`, { timeoutMs: 120_000 });
    expect((await store.stat('/big.bin')).size).toBe(size);
    const mibs = (ms: number) => ((size / (1 << 20)) / (ms / 1000)).toFixed(1);
    console.log(`securefs-fuse: 48 MiB write ${writeMs} ms (${mibs(writeMs)} MiB/s incl. commit), read ${readMs} ms (${mibs(readMs)} MiB/s)`);
  }, 180_000);

  it('a non-root session user owns its mount; other users are kept out by the 0700 root', async () => {
    const { mnt, store } = await setupMount('sfs-fuse-', { uid: NOBODY, gid: NOBODY });
    const out = await ok(`id -u && echo mine > '${mnt}/own.txt' && mkdir '${mnt}/sub' && stat -c '%u %g %a' '${mnt}' '${mnt}/own.txt' '${mnt}/sub' && cat '${mnt}/own.txt'`, {
      uid: NOBODY,
      gid: NOBODY,
    });
    expect(out.split('\n')).toEqual([`${NOBODY}`, `${NOBODY} ${NOBODY} 700`, `${NOBODY} ${NOBODY} 644`, `${NOBODY} ${NOBODY} 755`, 'mine', '']);
    expect((await store.readFile('/own.txt')).toString()).toBe('mine\n');
    const other = await run(`ls '${mnt}'`, { uid: NOBODY - 1, gid: NOBODY - 1 });
    expect(other.stderr).toMatch(/Permission denied/);
    // chown to someone else is refused; to the owner it is a no-op.
    expect((await run(`chown 0 '${mnt}/own.txt'`)).stderr).toMatch(/not permitted/);
    await ok(`chown ${NOBODY}:${NOBODY} '${mnt}/own.txt'`);
  });

  it('a non-sequential write to a file larger than the write buffer fails with EFBIG; sequential writes of any size work', async () => {
    const { mnt, store } = await setupMount('sfs-fuse-', { maxFileBuffer: 1 << 20 });
    await ok(`head -c 2000000 /dev/zero > '${mnt}/huge'`); // streamed (large-files.test.ts has the rest)
    expect((await store.stat('/huge')).size).toBe(2_000_000);
    const r = await run(`printf X | dd of='${mnt}/huge' bs=1 seek=100 conv=notrunc`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/File too large/);
    await ok(`head -c 1000000 /dev/zero > '${mnt}/fits' && printf X | dd of='${mnt}/fits' bs=1 seek=100 conv=notrunc 2>/dev/null`);
    const fits = await store.readFile('/fits');
    expect(fits.length).toBe(1_000_000);
    expect(fits[100]).toBe(0x58);
  });

  it('detach (locked): requests wait for attach, or fail with EACCES after the bound; writes are committed first', async () => {
    const fx = await setupMount('sfs-fuse-', { lockedWaitMs: 1500 });
    const { mnt, store, storeDir, keys, m } = fx;
    // A writer holds the file open across the detach: its buffered write is committed by detach.
    const writer = run(`exec 3>'${mnt}/held.txt'; printf before >&3; sleep 1; printf after >&3; exec 3>&-`);
    await new Promise((r) => setTimeout(r, 400));
    await m.detach();
    expect((await store.readFile('/held.txt')).toString()).toBe('before');
    await store.close();
    // Fails after the bound while nothing is attached.
    const t0 = Date.now();
    const denied = await run(`cat '${mnt}/held.txt'`);
    expect(denied.stderr).toMatch(/Permission denied/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    // Waits, then succeeds once a reopened store is attached.
    const reader = run(`cat '${mnt}/held.txt'`);
    await new Promise((r) => setTimeout(r, 300));
    const { openStore } = await import('../../src/lib/securefs/index.js');
    const reopened = await openStore(storeDir, keys());
    m.attach(reopened);
    fx.store = reopened;
    const w = await writer;
    const rd = await reader;
    expect(rd.code).toBe(0);
    expect(['before', 'beforeafter']).toContain(rd.stdout);
    expect(w.code).toBe(0);
    expect((await reopened.readFile('/held.txt')).toString()).toBe('beforeafter');
  });

  it('integrity failures reach the caller as EIO and are reported', async () => {
    const errors: string[] = [];
    const { mnt, store, storeDir } = await setupMount('sfs-fuse-', { onError: (e, c) => errors.push(`${c.op}:${(e as { kind?: string }).kind ?? e.message}`) });
    await ok(`head -c 100000 /dev/urandom > '${mnt}/victim'`);
    const st = await store.stat('/victim');
    const obj = path.join(storeDir, 'objects', st.fileId!.slice(0, 2), `${st.fileId}.${st.version!.toString(16).padStart(16, '0')}.sfs`);
    const bytes = await readFile(obj);
    bytes[100] = bytes[100]! ^ 1;
    await writeFile(obj, bytes);
    const r = await run(`cat '${mnt}/victim' > /dev/null`);
    expect(r.stderr).toMatch(/Input\/output error/);
    expect(errors.some((e) => e.startsWith('read:') && e.includes('chunk_tag'))).toBe(true);
  });

  it('unmount commits pending writes and leaves no mount behind', async () => {
    const { mnt, store, m } = await setupMount('sfs-fuse-');
    // A child keeps the file open (dirty) while we unmount lazily.
    const holder = run(`exec 3>'${mnt}/pending.txt'; printf pending >&3; sleep 2`);
    await new Promise((r) => setTimeout(r, 500));
    await m.unmount();
    expect(await isMounted(mnt)).toBe(false);
    expect((await store.readFile('/pending.txt')).toString()).toBe('pending');
    await holder;
    expect((await stat(mnt)).isDirectory()).toBe(true);
  });
});
