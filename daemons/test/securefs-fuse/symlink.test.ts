import { afterEach, describe, expect, it } from 'vitest';
import { openStore, verifyStore } from '../../src/lib/securefs/index.js';
import { isMounted, mountStore } from '../../src/lib/securefs-fuse/index.js';
import { canMount } from './can-mount.js';
import { cleanupMounts, ok, run, setupMount } from './fixture.js';

/**
 * Symlinks through a real FUSE mount. The mount is served on this process's event loop, so the
 * mount is only ever touched from child processes (a synchronous fs call here would deadlock);
 * the store is checked through its async API.
 */

afterEach(cleanupMounts);


describe.skipIf(!canMount)('securefs-fuse: symlinks', () => {
  it('ln -s, readlink, ls -l, cat through relative and absolute links, rm, mv, a dangling link', async () => {
    const fx = await setupMount('sfs-fuse-link-');
    const { mnt, store, storeDir, keys } = fx;
    await ok(`cd '${mnt}' && printf 'hello' > a.txt && mkdir d && printf 'in d' > d/b.txt`);

    // Create: relative, absolute (through the mountpoint), dangling, and a link to a directory.
    await ok(`cd '${mnt}' && ln -s a.txt rel && ln -s '${mnt}/a.txt' abs && ln -s missing.txt dangling && ln -s d dlink`);
    expect(await ok(`cd '${mnt}' && readlink rel abs dangling dlink`)).toBe(`a.txt\n${mnt}/a.txt\nmissing.txt\nd\n`);
    expect(await store.readlink('/rel')).toBe('a.txt');
    expect(await store.stat('/abs')).toMatchObject({ type: 'symlink', target: `${mnt}/a.txt`, mode: 0o777 });

    // ls -l and stat see links (S_IFLNK, size = bytes of the target, 0777), not their targets.
    const ls = await ok(`cd '${mnt}' && ls -l`);
    expect(ls).toMatch(/^lrwxrwxrwx 1 root root +5 .* rel -> a\.txt$/m);
    expect(ls).toMatch(new RegExp(`^lrwxrwxrwx .* abs -> ${mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/a\\.txt$`, 'm'));
    expect(ls).toMatch(/^lrwxrwxrwx .* dangling -> missing\.txt$/m);
    expect(ls).toMatch(/^lrwxrwxrwx .* dlink -> d$/m);
    expect(ls).toMatch(/^-rw-r--r-- .* a\.txt$/m);
    expect(await ok(`cd '${mnt}' && stat -c '%F|%s|%a' rel dlink a.txt`)).toBe(`symbolic link|5|777\nsymbolic link|1|777\nregular file|5|644\n`);
    // readdir's stats agree (find reads the type from readdir + lstat).
    expect((await ok(`cd '${mnt}' && find . -type l | sort`)).split('\n')).toEqual(['./abs', './dangling', './dlink', './rel', '']);

    // The kernel resolves links: cat through the relative and the absolute link, list through a dir link.
    expect(await ok(`cat '${mnt}/rel'`)).toBe('hello');
    expect(await ok(`cat '${mnt}/abs'`)).toBe('hello');
    expect(await ok(`cat '${mnt}/dlink/b.txt'`)).toBe('in d');
    expect(await ok(`ls '${mnt}/dlink/'`)).toBe('b.txt\n');
    expect(await ok(`stat -L -c '%F|%s' '${mnt}/rel'`)).toBe('regular file|5\n');

    // Writing through a link changes the target, not the link.
    await ok(`printf ' world' >> '${mnt}/rel'`);
    expect((await store.readFile('/a.txt')).toString()).toBe('hello world');
    expect(await store.readlink('/rel')).toBe('a.txt');
    // chmod follows the link too.
    await ok(`chmod 600 '${mnt}/rel'`);
    expect((await store.stat('/a.txt')).mode).toBe(0o600);
    expect((await store.stat('/rel')).mode).toBe(0o777);
    // touch -h sets the link's own mtime.
    await ok(`touch -h -d '2002-03-04 05:06:07 UTC' '${mnt}/rel'`);
    expect((await store.stat('/rel')).mtimeMs).toBe(Date.UTC(2002, 2, 4, 5, 6, 7));
    expect((await store.stat('/a.txt')).mtimeMs).not.toBe(Date.UTC(2002, 2, 4, 5, 6, 7));

    // A dangling link: reading fails with ENOENT; writing through it creates the target.
    const r = await run(`cat '${mnt}/dangling'`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/No such file or directory/);
    expect(await ok(`test -L '${mnt}/dangling' && ! test -e '${mnt}/dangling' && echo dangles`)).toBe('dangles\n');
    await ok(`printf 'made' > '${mnt}/dangling'`);
    expect((await store.readFile('/missing.txt')).toString()).toBe('made');
    expect(await store.readlink('/dangling')).toBe('missing.txt');

    // ln -s over an existing name fails; ln -sf replaces it (unlink + symlink).
    expect((await run(`ln -s other '${mnt}/rel'`)).stderr).toMatch(/File exists/);
    await ok(`ln -sfn d/b.txt '${mnt}/dangling'`);
    expect(await ok(`readlink '${mnt}/dangling' && cat '${mnt}/dangling'`)).toBe('d/b.txt\nin d');
    expect((await store.readFile('/missing.txt')).toString()).toBe('made'); // the old target stays

    // mv moves the link itself; its text is not rewritten (so a relative link may dangle after).
    await ok(`mv '${mnt}/rel' '${mnt}/d/rel2'`);
    expect(await ok(`ls -A '${mnt}' | sort`)).not.toMatch(/^rel$/m);
    expect(await ok(`readlink '${mnt}/d/rel2'`)).toBe('a.txt\n');
    expect((await run(`cat '${mnt}/d/rel2'`)).stderr).toMatch(/No such file/);
    await ok(`mv '${mnt}/d/rel2' '${mnt}/rel'`);
    expect(await ok(`cat '${mnt}/rel'`)).toBe('hello world');
    // mv a directory holding a link; a link to a directory moves as a link.
    await ok(`ln -s ../a.txt '${mnt}/d/up' && mv '${mnt}/d' '${mnt}/e' && mv '${mnt}/dlink' '${mnt}/elink'`);
    expect(await ok(`cat '${mnt}/e/up'`)).toBe('hello world');
    expect(await ok(`readlink '${mnt}/elink'`)).toBe('d\n'); // now dangling: d was renamed
    expect(await store.stat('/e')).toMatchObject({ type: 'dir' });

    // rmdir of a directory holding a link: not empty.
    expect((await run(`rmdir '${mnt}/e'`)).stderr).toMatch(/not empty/i);

    // rm removes the link only.
    await ok(`rm '${mnt}/rel' '${mnt}/abs' '${mnt}/elink' '${mnt}/e/up'`);
    expect(await store.exists('/rel')).toBe(false);
    expect((await store.readFile('/a.txt')).toString()).toBe('hello world');
    expect(await ok(`cat '${mnt}/a.txt'`)).toBe('hello world');
    expect(await store.readdir('/')).toEqual(['a.txt', 'dangling', 'e', 'missing.txt']);

    const report = await verifyStore(storeDir, keys());
    expect(report).toMatchObject({ ok: true, symlinks: 1 });
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('cp -a copies links as links; longest target; links survive unmount and remount', async () => {
    const fx = await setupMount('sfs-fuse-link-');
    const { mnt, storeDir, keys } = fx;
    await ok(`cd '${mnt}' && mkdir src && printf x > src/f && ln -s f src/l && ln -s /etc/hostname src/abs && cp -a src dst`);
    expect(await ok(`cd '${mnt}' && readlink dst/l dst/abs && cat dst/l`)).toBe('f\n/etc/hostname\nx');
    expect(await fx.store.readlink('/dst/l')).toBe('f');

    // 4095 bytes is the longest target the kernel passes; it comes back whole through readlink.
    const long = 'x'.repeat(4095);
    await ok(`cd '${mnt}' && ln -s ${long} long`);
    expect((await ok(`readlink '${mnt}/long'`)).trim()).toBe(long);
    expect(await ok(`stat -c %s '${mnt}/long'`)).toBe('4095\n');
    expect((await run(`cd '${mnt}' && ln -s ${long}y toolong`)).code).not.toBe(0);
    expect(await fx.store.exists('/toolong')).toBe(false);

    // Remount: the links come back from the encrypted index.
    await fx.m.unmount();
    await fx.store.close();
    expect(await isMounted(mnt)).toBe(false);
    fx.store = await openStore(storeDir, keys());
    fx.m = await mountStore(fx.store, mnt, { uid: 0, gid: 0 });
    expect(await ok(`cd '${mnt}' && readlink src/l dst/abs && cat src/l && stat -c %F src/l`)).toBe('f\n/etc/hostname\nxsymbolic link\n');
    expect((await ok(`readlink '${mnt}/long'`)).trim()).toBe(long);
    const report = await verifyStore(storeDir, keys());
    expect(report).toMatchObject({ ok: true, files: 2, dirs: 2, symlinks: 5 });
  });
});
