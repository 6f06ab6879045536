import { appendFileSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountFileCacheStats, clearAccountFileCache } from './file-cache.js';
import { readLoginDefs } from './login-defs.js';
import { getUser, humanUsers } from './query.js';
import { readShells } from './state.js';
import { hasTool, makeRoot, removeRoot, run } from './test-fixtures.js';
import { addUser } from './users.js';

const HASH_A = '$6$saltsalt$' + 'a'.repeat(86);
const HASH_B = '$6$saltsalt$' + 'b'.repeat(86);
const etc = (root: string, f: string): string => path.join(root, 'etc', f);
/** Past the racy window, so that what was read is cached. */
const settle = () => new Promise((r) => setTimeout(r, 250));

let root = '';
beforeEach(async () => {
  clearAccountFileCache();
  root = makeRoot();
  await addUser(root, { username: 'alice', fullName: 'Alice', hash: HASH_A }, { createHome: false });
  await settle();
});
afterEach(() => removeRoot(root));

describe('account file cache (read paths)', () => {
  it('serves repeated lookups from the cache, re-stating the files each time', async () => {
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    const before = accountFileCacheStats();
    for (let i = 0; i < 5; i++) expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    const after = accountFileCacheStats();
    expect(after.hits - before.hits).toBe(15); // passwd, group, shadow × 5
    expect(after.misses).toBe(before.misses);
  });

  it('hits after the first confirmation need no stat while the directory is unchanged (inotify token)', async () => {
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A); // confirms by stat, takes the token
    const before = accountFileCacheStats();
    for (let i = 0; i < 5; i++) expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    expect(accountFileCacheStats().statFreeHits - before.statFreeHits).toBe(15);
    // Any change in /etc — here an unrelated file — sends the next lookup back to the stat check.
    writeFileSync(etc(root, 'motd'), 'hello\n');
    const mid = accountFileCacheStats();
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    expect(accountFileCacheStats().statFreeHits).toBe(mid.statFreeHits);
    expect(accountFileCacheStats().hits - mid.hits).toBe(3);
  });

  it('an account file that is a symbolic link is always re-stated: a change of its target is seen at once', async () => {
    const real = path.join(root, 'var-shadow');
    renameSync(etc(root, 'shadow'), real);
    symlinkSync(real, etc(root, 'shadow'));
    await settle();
    for (let i = 0; i < 3; i++) expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    const before = accountFileCacheStats();
    writeFileSync(real, readFileSync(real, 'utf8').replace(HASH_A, HASH_B)); // outside /etc
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_B);
    expect(accountFileCacheStats().misses).toBeGreaterThan(before.misses);
  });

  it('sees an in-place rewrite of the same size at once (passwd(1)-style edit by another program)', async () => {
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    const text = readFileSync(etc(root, 'shadow'), 'utf8');
    const next = text.replace(HASH_A, HASH_B);
    expect(next.length).toBe(text.length);
    writeFileSync(etc(root, 'shadow'), next); // same inode, same size
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_B);
    // And twice in the same tick (racy entries are never cached).
    writeFileSync(etc(root, 'shadow'), text);
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    writeFileSync(etc(root, 'shadow'), next);
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_B);
  });

  it('sees an in-place rewrite whose mtime was put back (touch -r): ctime is part of the identity', async () => {
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_A);
    const st = statSync(etc(root, 'shadow'));
    writeFileSync(etc(root, 'shadow'), readFileSync(etc(root, 'shadow'), 'utf8').replace(HASH_A, HASH_B));
    utimesSync(etc(root, 'shadow'), st.atime, st.mtime);
    expect((await getUser(root, 'alice'))?.shadow?.hash).toBe(HASH_B);
  });

  it('sees a replacement by rename (useradd, vipw, our own writers) and a deletion at once', async () => {
    expect(await getUser(root, 'bob')).toBeNull();
    const tmp = etc(root, 'passwd.new');
    writeFileSync(tmp, readFileSync(etc(root, 'passwd'), 'utf8') + 'bob:x:1001:1001:Bob:/home/bob:/bin/bash\n');
    renameSync(tmp, etc(root, 'passwd'));
    expect((await getUser(root, 'bob'))?.passwd.uid).toBe(1001);
    expect((await humanUsers(root)).map((u) => u.passwd.name)).toContain('bob');
    rmSync(etc(root, 'shadow'));
    expect((await getUser(root, 'alice'))?.shadow).toBeUndefined();
  });

  it('sees users added by shadow-utils useradd', async () => {
    if (!hasTool('useradd')) return;
    expect(await getUser(root, 'carol')).toBeNull();
    const r = run('useradd', ['-R', root, '-M', '-s', '/bin/bash', 'carol']);
    expect(r.status, r.stderr).toBe(0);
    expect((await getUser(root, 'carol'))?.passwd.name).toBe('carol');
  });

  it('/etc/shells and /etc/login.defs changes are seen at once; callers get copies', async () => {
    const shells = await readShells(root);
    expect(shells).not.toBeNull();
    shells!.push('/tmp/evil');
    expect(await readShells(root)).not.toContain('/tmp/evil');
    appendFileSync(etc(root, 'shells'), '/usr/bin/fish\n');
    expect(await readShells(root)).toContain('/usr/bin/fish');
    rmSync(etc(root, 'shells'));
    expect(await readShells(root)).toBeNull();

    const defs = await readLoginDefs(root);
    defs.raw.UID_MIN = '1';
    expect((await readLoginDefs(root)).raw.UID_MIN).not.toBe('1');
    appendFileSync(etc(root, 'login.defs'), '\nUID_MIN 2000\n');
    expect((await readLoginDefs(root)).UID_MIN).toBe(2000);
    expect((await humanUsers(root)).map((u) => u.passwd.name)).not.toContain('alice');
  });
});
