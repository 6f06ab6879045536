import { lstatSync, readFileSync, readlinkSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAccountError } from './errors.js';
import { parseLoginDefs } from './login-defs.js';
import { lockUser, setPasswordHash, unlockUser } from './passwords.js';
import { countHumanUsers, getAccountState, getUser, humanUsers, listUsers } from './query.js';
import { hasTool, makeRoot, removeRoot, run, SHADOW_GID } from './test-fixtures.js';
import { addUser, deleteUser } from './users.js';

const HASH = '$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijklmnopq';
const TODAY = 20000;
const cfg = { nowDays: () => TODAY };
const shadowTools = hasTool('pwck') && hasTool('useradd');

let root = '';
beforeEach(() => {
  root = makeRoot();
});
afterEach(() => removeRoot(root));

const etc = (f: string): string => readFileSync(path.join(root, 'etc', f), 'utf8');

function expectShadowUtilsHappy(): void {
  if (!shadowTools) return;
  const p = run('pwck', ['-r', '-R', root]);
  expect(p.stdout + p.stderr, 'pwck output').toBe('');
  expect(p.status).toBe(0);
  const g = run('grpck', ['-r', '-R', root]);
  expect(g.stdout + g.stderr, 'grpck output').toBe('');
  expect(g.status).toBe(0);
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => isAccountError(e) && e.code === code);
}

describe('addUser', () => {
  it('creates passwd, shadow, private group, gshadow, admin membership and a home from skel', async () => {
    expectShadowUtilsHappy();
    const r = await addUser(root, { username: 'alice', fullName: 'Alice Liddell', hash: HASH, admin: true, groups: ['users'] }, cfg);
    expect(r).toMatchObject({ uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/bash', homeCreated: true });
    expect(etc('passwd')).toContain('\nalice:x:1000:1000:Alice Liddell:/home/alice:/bin/bash\n');
    expect(etc('shadow')).toContain(`\nalice:${HASH}:${TODAY}:0:99999:7:::\n`);
    expect(etc('group')).toContain('\nsudo:x:27:alice\n');
    expect(etc('group')).toContain('\nusers:x:100:alice\n');
    expect(etc('group')).toContain('\nalice:x:1000:\n');
    expect(etc('gshadow')).toContain('\nsudo:*::alice\n');
    expect(etc('gshadow')).toContain('\nalice:!::\n');
    // modes and owners preserved
    const sh = statSync(path.join(root, 'etc/shadow'));
    expect([sh.mode & 0o7777, sh.uid, sh.gid]).toEqual([0o640, 0, SHADOW_GID]);
    expect(statSync(path.join(root, 'etc/passwd')).mode & 0o7777).toBe(0o644);
    // backups like shadow-utils
    expect(readFileSync(path.join(root, 'etc/passwd-'), 'utf8')).not.toContain('alice');
    expect(statSync(path.join(root, 'etc/shadow-')).mode & 0o7777).toBe(0o640);
    expect(existsSync(path.join(root, 'etc/passwd.lock'))).toBe(false);
    // home
    const home = path.join(root, 'home/alice');
    const hs = statSync(home);
    expect([hs.mode & 0o7777, hs.uid, hs.gid]).toEqual([0o700, 1000, 1000]);
    expect(readFileSync(path.join(home, '.bashrc'), 'utf8')).toBe('# bashrc\n');
    expect(statSync(path.join(home, '.config/app/settings')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(home, '.config/app')).uid).toBe(1000);
    expect(lstatSync(path.join(home, 'link-out')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(home, 'link-out'))).toBe('/etc/passwd');
    expect(lstatSync(path.join(home, 'link-out')).uid).toBe(1000);
    expectShadowUtilsHappy();

    const u = await getUser(root, 'alice');
    expect(u?.groups).toEqual(['alice', 'sudo', 'users']);
    expect(u?.fullName).toBe('Alice Liddell');
    expect(await getAccountState(root, 'alice', cfg)).toEqual({ ok: true });
  });

  it('allocates max+1, skips gids in use, creates a missing admin group, works without gshadow', async () => {
    removeRoot(root);
    root = makeRoot({ gshadow: false });
    writeFileSync(path.join(root, 'etc/group'), etc('group') + 'taken:x:1001:\n');
    expect((await addUser(root, { username: 'a', fullName: '', hash: HASH }, cfg)).uid).toBe(1002); // max used id (gid 1001) + 1
    const b = await addUser(root, { username: 'b', fullName: 'B', hash: HASH, admin: true }, { ...cfg, adminGroup: 'wheel' });
    expect(b.uid).toBe(1003);
    expect(etc('group')).toMatch(/\nwheel:x:999:b\n/);
    expect(existsSync(path.join(root, 'etc/gshadow'))).toBe(false);
    expectShadowUtilsHappy();
  });

  it('validates input and reports typed errors', async () => {
    await expectCode(addUser(root, { username: 'Bad', fullName: 'x', hash: HASH }, cfg), 'invalid_username');
    await expectCode(addUser(root, { username: 'a'.repeat(33), fullName: 'x', hash: HASH }, cfg), 'invalid_username');
    await expectCode(addUser(root, { username: '1abc', fullName: 'x', hash: HASH }, cfg), 'invalid_username');
    for (const fullName of ['a:b', 'a,b', 'a\nb', 'a\u0007', 'x'.repeat(200)]) await expectCode(addUser(root, { username: 'ok', fullName, hash: HASH }, cfg), 'invalid_full_name');
    await expectCode(addUser(root, { username: 'ok', fullName: 'x', hash: 'a:b' }, cfg), 'invalid_hash');
    await expectCode(addUser(root, { username: 'ok', fullName: 'x', hash: '' }, cfg), 'invalid_hash');
    await expectCode(addUser(root, { username: 'ok', fullName: 'x', hash: HASH, shell: 'bash' }, cfg), 'invalid_shell');
    await expectCode(addUser(root, { username: 'ok', fullName: 'x', hash: HASH, home: '/home/../etc' }, cfg), 'invalid_home');
    await expectCode(addUser(root, { username: 'ok', fullName: 'x', hash: HASH, groups: ['nosuch'] }, cfg), 'invalid_group');
    await expectCode(addUser(root, { username: 'daemon', fullName: 'x', hash: HASH }, cfg), 'exists');
    await expectCode(addUser(root, { username: 'sudo', fullName: 'x', hash: HASH }, cfg), 'exists');
    await expectCode(addUser(root, { username: 'ok', fullName: 'x', hash: HASH, uid: 1 }, cfg), 'exists');
    const tiny = { ...cfg, loginDefs: parseLoginDefs('UID_MIN 5000\nUID_MAX 5000\nGID_MIN 5000\nGID_MAX 5000') };
    expect((await addUser(root, { username: 'ok', fullName: 'x', hash: HASH }, tiny)).uid).toBe(5000);
    await expectCode(addUser(root, { username: 'ok2', fullName: 'x', hash: HASH }, tiny), 'uid_exhausted');
    expect(etc('passwd')).not.toContain('ok2');
  });

  it('refuses to modify files with malformed lines (corrupt_file with file and line)', async () => {
    writeFileSync(path.join(root, 'etc/group'), etc('group') + 'garbage line\n');
    const err = await addUser(root, { username: 'z', fullName: '', hash: HASH }, cfg).catch((e: unknown) => e);
    expect(isAccountError(err, 'corrupt_file')).toBe(true);
    expect(isAccountError(err) && err.line).toBe(9);
    expect(isAccountError(err) && err.file).toBe(path.join(root, 'etc/group'));
    // lookups still work and skip the bad line
    expect((await listUsers(root)).map((u) => u.passwd.name)).toContain('root');
  });
});

describe('password, lock, delete', () => {
  it('setPasswordHash updates the hash and sp_lstchg; lock/unlock like usermod', async () => {
    await addUser(root, { username: 'bob', fullName: 'Bob', hash: HASH }, { nowDays: () => 100 });
    await setPasswordHash(root, 'bob', '$y$j9T$new$hash', cfg);
    expect(etc('shadow')).toContain(`\nbob:$y$j9T$new$hash:${TODAY}:`);
    await lockUser(root, 'bob', cfg);
    await lockUser(root, 'bob', cfg);
    expect(etc('shadow')).toContain(`\nbob:!$y$j9T$new$hash:${TODAY}:`);
    expect(await getAccountState(root, 'bob', cfg)).toEqual({ ok: false, reason: 'locked' });
    expectShadowUtilsHappy();
    await unlockUser(root, 'bob', cfg);
    expect(etc('shadow')).toContain(`\nbob:$y$j9T$new$hash:${TODAY}:`);
    await setPasswordHash(root, 'bob', '!', cfg);
    await expectCode(unlockUser(root, 'bob', cfg), 'passwordless');
    await expectCode(setPasswordHash(root, 'nobody-here', HASH, cfg), 'not_found');
    expectShadowUtilsHappy();
  });

  it('deleteUser removes passwd/shadow/group membership/private group/gshadow and the home', async () => {
    const before = { passwd: etc('passwd'), shadow: etc('shadow'), group: etc('group'), gshadow: etc('gshadow') };
    await addUser(root, { username: 'carol', fullName: 'C', hash: HASH, admin: true, groups: ['users'] }, cfg);
    await deleteUser(root, 'carol', { removeHome: true }, cfg);
    expect({ passwd: etc('passwd'), shadow: etc('shadow'), group: etc('group'), gshadow: etc('gshadow') }).toEqual(before);
    expect(existsSync(path.join(root, 'home/carol'))).toBe(false);
    await expectCode(deleteUser(root, 'carol', {}, cfg), 'not_found');
    await expectCode(deleteUser(root, 'root', {}, cfg), 'protected');
    expectShadowUtilsHappy();
  });

  it('humanUsers / countHumanUsers', async () => {
    expect(await countHumanUsers(root)).toBe(0);
    await addUser(root, { username: 'h1', fullName: '', hash: HASH }, cfg);
    await addUser(root, { username: 'h2', fullName: '', hash: HASH, shell: '/usr/sbin/nologin' }, cfg);
    expect((await humanUsers(root)).map((u) => u.passwd.name)).toEqual(['h1']);
    expect(await countHumanUsers(root)).toBe(1);
  });
});

describe.runIf(shadowTools)('interoperability with shadow-utils', () => {
  it('shadow-utils tools operate on a user we added', async () => {
    await addUser(root, { username: 'dave', fullName: 'Dave', hash: HASH, admin: true }, cfg);
    let r = run('chpasswd', ['--root', root, '-e'], `dave:$6$other$hash\n`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect((await getUser(root, 'dave'))?.shadow?.hash).toBe('$6$other$hash');
    r = run('usermod', ['--root', root, '-c', 'Dave Two', 'dave']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect((await getUser(root, 'dave'))?.fullName).toBe('Dave Two');
    expectShadowUtilsHappy();
    r = run('userdel', ['--root', root, '-r', 'dave']);
    expect(r.status).toBe(0);
    expect(r.stderr.replace(/^userdel: dave mail spool .* not found\n/m, '')).toBe(''); // we create no mail spool
    expect(await getUser(root, 'dave')).toBeNull();
    expect(etc('group')).toContain('\nsudo:x:27:\n');
    expectShadowUtilsHappy();
  });

  it('we parse and modify a user added by useradd', async () => {
    const r = run('useradd', ['--root', root, '-m', '-c', 'Eve', '-G', 'sudo', '-s', '/bin/bash', 'eve']);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const u = await getUser(root, 'eve');
    expect(u).toMatchObject({ fullName: 'Eve', groups: ['eve', 'sudo'] });
    expect(u?.passwd.uid).toBe(1000);
    expect(u?.shadow?.hash).toBe('!');
    await setPasswordHash(root, 'eve', HASH, cfg);
    const next = await addUser(root, { username: 'frank', fullName: '', hash: HASH }, cfg);
    expect(next.uid).toBe(1001);
    expectShadowUtilsHappy();
    await deleteUser(root, 'eve', { removeHome: true }, cfg);
    expectShadowUtilsHappy();
  });
});
