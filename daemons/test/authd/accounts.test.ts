import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { makeRoot } from '../../../test/harness/index.js';
import { LineDecoder, encodeLine, validateReply } from '../../../protocol/src/common/index.js';
import { checkAccountFiles, codeOf, startAuthd, type Authd } from './helpers.js';

let d: Authd | undefined;
afterEach(async () => {
  await d?.stop();
  d?.root.cleanup();
  d = undefined;
});

/** useradd/chpasswd from shadow-utils must accept what authd wrote. */
function shadowUtilsAccept(dir: string): void {
  execFileSync('useradd', ['--root', dir, '-m', 'zed'], { stdio: 'pipe' });
  execFileSync('chpasswd', ['--root', dir, '-c', 'SHA512'], { input: 'zed:Zed-Password-1\n', stdio: ['pipe', 'pipe', 'pipe'] });
  checkAccountFiles(dir);
}

describe('authd account writes', () => {
  it('OOBE: two racing create_first_user requests create exactly one admin user', async () => {
    d = await startAuthd();
    const [a, b] = await Promise.all([d.client(), d.client()]);
    expect(await a.request({ type: 'first_boot_status' })).toMatchObject({ first_boot: true });
    const events: unknown[] = [];
    await b.request({ type: 'subscribe', events: ['users_changed'] });
    b.on('event', (e) => events.push(e));
    const results = await Promise.allSettled([
      a.request({ type: 'create_first_user', username: 'anna', full_name: 'Anna A', password: 'Anna-Password-1' }),
      b.request({ type: 'create_first_user', username: 'bert', full_name: 'Bert B', password: 'Bert-Password-1', pin: '4321' }),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((failed.reason as { code: string }).code).toBe('not_first_boot');
    const created = (ok[0] as PromiseFulfilledResult<Record<string, unknown>>).value;
    expect(created).toMatchObject({ type: 'create_user_result', uid: 1000, recovery_key: null });
    expect((created.strength as { score: number }).score).toBeGreaterThanOrEqual(0);
    const passwd = readFileSync(d.root.path('/etc/passwd'), 'utf8');
    expect(passwd.match(/:1000:/g)).toHaveLength(1);
    expect(readFileSync(d.root.path('/etc/group'), 'utf8')).toMatch(new RegExp(`^sudo:x:27:${String(created.username)}$`, 'm'));
    expect(statSync(d.root.path(`/home/${String(created.username)}`)).uid).toBe(1000);
    expect(await a.request({ type: 'first_boot_status' })).toMatchObject({ first_boot: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toContainEqual(expect.objectContaining({ event: 'users_changed' }));
    expect(await codeOf(a.request({ type: 'create_first_user', username: 'carl', full_name: 'C', password: 'Carl-Password-1' }))).toBe('not_first_boot');
    checkAccountFiles(d.root.dir);
    a.close();
    b.close();
  });

  it('add, change password, lock, unlock, delete: files stay valid for pwck/grpck and shadow-utils', async () => {
    d = await startAuthd([{ name: 'owner', password: 'Owner-Password-1', groups: ['sudo'] }]);
    const c = await d.client();
    expect(await codeOf(c.request({ type: 'add_user', username: 'newbie', full_name: 'New Bie', password: 'short', admin: false }))).toBe('weak_password');
    const r = await c.request({ type: 'add_user', username: 'newbie', full_name: 'New Bie', password: 'Newbie-Password-1', admin: true });
    expect(r).toMatchObject({ username: 'newbie', uid: 1001 });
    checkAccountFiles(d.root.dir);
    expect(await codeOf(c.request({ type: 'add_user', username: 'newbie', full_name: 'X', password: 'Newbie-Password-1', admin: false }))).toBe('exists');
    const login = (pw: string) => c.request({ type: 'authenticate', username: 'newbie', password: pw, vt: 1, purpose: 'login' });
    await login('Newbie-Password-1');
    expect(readFileSync(d.root.path('/etc/shadow'), 'utf8')).toMatch(/^newbie:\$6\$rounds=5000\$/m);
    await c.request({ type: 'change_password', username: 'newbie', old_password: 'Newbie-Password-1', new_password: 'Newbie-Password-2' });
    checkAccountFiles(d.root.dir);
    expect(await codeOf(login('Newbie-Password-1'))).toBe('auth_failed');
    await login('Newbie-Password-2');
    await c.request({ type: 'lock_user', username: 'newbie' });
    checkAccountFiles(d.root.dir);
    expect(await codeOf(login('Newbie-Password-2'))).toBe('account_locked');
    const users = (await c.request({ type: 'list_users' })).users as Array<{ username: string; locked: boolean }>;
    expect(users.find((u) => u.username === 'newbie')?.locked).toBe(true);
    await c.request({ type: 'unlock_user', username: 'newbie' });
    await login('Newbie-Password-2');
    // administrative reset (no old password)
    await c.request({ type: 'change_password', username: 'newbie', new_password: 'Newbie-Password-3' });
    await login('Newbie-Password-3');
    await c.request({ type: 'delete_user', username: 'newbie', remove_home: true });
    checkAccountFiles(d.root.dir);
    expect(readFileSync(d.root.path('/etc/passwd'), 'utf8')).not.toContain('newbie');
    expect(() => statSync(d!.root.path('/home/newbie'))).toThrow();
    expect(await codeOf(c.request({ type: 'delete_user', username: 'newbie', remove_home: false }))).toBe('not_found');
    shadowUtilsAccept(d.root.dir);
    c.close();
  });

  it('PIN: set, log in, 3 wrong PINs require the password, which re-enables it', async () => {
    d = await startAuthd([{ name: 'pat', password: 'Pat-Password-1' }]);
    const c = await d.client();
    expect(await codeOf(c.request({ type: 'set_pin', username: 'pat', password: 'wrong-password', pin: '1234' }))).toBe('auth_failed');
    await c.request({ type: 'set_pin', username: 'pat', password: 'Pat-Password-1', pin: '123456' });
    expect(statSync(d.root.path('/var/lib/redbear/authd/pins.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(d.root.path('/var/lib/redbear/authd/pins.json'), 'utf8')).toContain('$argon2id$');
    const users = (await c.request({ type: 'list_users' })).users as Array<{ username: string; has_pin: boolean }>;
    expect(users.find((u) => u.username === 'pat')?.has_pin).toBe(true);
    const pin = (p: string) => c.request({ type: 'authenticate_pin', username: 'pat', pin: p, vt: 1, purpose: 'unlock' });
    expect(await pin('123456')).toMatchObject({ type: 'authenticate_result', username: 'pat' });
    expect(await codeOf(pin('000000'))).toBe('auth_failed');
    expect(await codeOf(pin('000001'))).toBe('auth_failed');
    expect(await codeOf(pin('000002'))).toBe('auth_failed');
    expect(await codeOf(pin('123456'))).toBe('invalid_state');
    await c.request({ type: 'authenticate', username: 'pat', password: 'Pat-Password-1', vt: 1, purpose: 'login' });
    expect(await pin('123456')).toMatchObject({ username: 'pat' });
    await c.request({ type: 'set_pin', username: 'pat', password: 'Pat-Password-1', pin: null });
    expect(await codeOf(pin('123456'))).toBe('auth_failed');
    c.close();
  });

  it('a lockout survives an authd restart; throttle.json is 0600', async () => {
    d = await startAuthd([{ name: 'lou', password: 'Lou-Password-1' }]);
    let c = await d.client();
    for (let i = 0; i < 5; i++) expect(await codeOf(c.request({ type: 'authenticate', username: 'lou', password: `bad-${i}`, vt: 1, purpose: 'login' }))).toBe('auth_failed');
    const e = await c.request({ type: 'authenticate', username: 'lou', password: 'Lou-Password-1', vt: 1, purpose: 'login' }).catch((x: unknown) => x as { code: string; extra: { retry_after_ms: number } });
    expect(e).toMatchObject({ code: 'rate_limited' });
    expect((e as { extra: { retry_after_ms: number } }).extra.retry_after_ms).toBeGreaterThan(20_000);
    c.close();
    await d.restart();
    expect(statSync(d.root.path('/var/lib/redbear/authd/throttle.json')).mode & 0o777).toBe(0o600);
    c = await d.client();
    expect(await codeOf(c.request({ type: 'authenticate', username: 'lou', password: 'Lou-Password-1', vt: 1, purpose: 'login' }))).toBe('rate_limited');
    c.close();
  });

  it('a lockout survives authd being killed (SIGKILL) right after it started', async () => {
    d = await startAuthd([{ name: 'kim', password: 'Kim-Password-1' }]);
    const c = await d.client();
    // The first failure is written at once; the next three fall within the 1 s coalescing
    // interval; the fifth starts a lockout, which must be durable before its reply.
    for (let i = 0; i < 5; i++) expect(await codeOf(c.request({ type: 'authenticate', username: 'kim', password: `bad-${i}`, vt: 1, purpose: 'login' }))).toBe('auth_failed');
    c.close();
    await d.restart('kill');
    const c2 = await d.client();
    expect(await codeOf(c2.request({ type: 'authenticate', username: 'kim', password: 'Kim-Password-1', vt: 1, purpose: 'login' }))).toBe('rate_limited');
    c2.close();
  });

  it('avatars: ~/.face served, links out of the home and oversized files refused', async () => {
    const root = await makeRoot([{ name: 'amy', password: 'Amy-Password-1' }, { name: 'ben', password: 'Ben-Password-1' }, { name: 'cy', password: 'Cy-Password-1' }]);
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(100, 1)]);
    writeFileSync(root.path('/home/amy/.face'), png);
    writeFileSync(root.path('/etc/secret.png'), png);
    symlinkSync(root.path('/etc/secret.png'), root.path('/home/ben/.face'));
    mkdirSync(root.path('/var/lib/AccountsService/icons'), { recursive: true });
    writeFileSync(root.path('/var/lib/AccountsService/icons/cy'), Buffer.concat([png, Buffer.alloc(40 * 1024)]));
    d = await startAuthd([], '', root);
    const c = await d.client();
    const r = await c.request({ type: 'get_avatar', username: 'amy' });
    expect(r).toMatchObject({ mime: 'image/png', data_base64: png.toString('base64') });
    expect(await codeOf(c.request({ type: 'get_avatar', username: 'ben' }))).toBe('not_found');
    expect(await codeOf(c.request({ type: 'get_avatar', username: 'cy' }))).toBe('not_found');
    const users = (await c.request({ type: 'list_users' })).users as Array<{ username: string; has_avatar: boolean }>;
    expect(Object.fromEntries(users.map((u) => [u.username, u.has_avatar]))).toEqual({ amy: true, ben: false, cy: false });
    c.close();
  });

  it('list_users reads through caches yet sees changes by other programs at once (users, ~/.face, icons)', async () => {
    const root = await makeRoot([{ name: 'amy', password: 'Amy-Password-1' }, { name: 'ben', password: 'Ben-Password-1' }]);
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(100, 1)]);
    d = await startAuthd([], '', root);
    const c = await d.client();
    const list = async () => Object.fromEntries(((await c.request({ type: 'list_users' })).users as Array<{ username: string; has_avatar: boolean }>).map((u) => [u.username, u.has_avatar]));
    // Past the caches' racy window, so that what follows is served from them.
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) expect(await list()).toEqual({ amy: false, ben: false });
    writeFileSync(root.path('/home/amy/.face'), png);
    expect(await list()).toEqual({ amy: true, ben: false });
    mkdirSync(root.path('/var/lib/AccountsService/icons'), { recursive: true });
    writeFileSync(root.path('/var/lib/AccountsService/icons/ben'), png);
    expect(await list()).toEqual({ amy: true, ben: true });
    rmSync(root.path('/home/amy/.face'));
    expect(await list()).toEqual({ amy: false, ben: true });
    // A user added by another program (same-size in-place edits are covered in lib/accounts).
    const passwd = readFileSync(root.path('/etc/passwd'), 'utf8');
    writeFileSync(root.path('/etc/passwd.tmp'), passwd + 'dee:x:1500:1500:Dee:/home/dee:/bin/bash\n');
    renameSync(root.path('/etc/passwd.tmp'), root.path('/etc/passwd'));
    expect(await list()).toEqual({ amy: false, ben: true, dee: false });
    writeFileSync(root.path('/etc/passwd'), passwd);
    expect(await list()).toEqual({ amy: false, ben: true });
    // The whole answer is cached while nothing it was built from changes: every kind of change
    // below, made by another process right before the request, is in the very next answer.
    const sh = (script: string) => expect(spawnSync('sh', ['-c', script]).status).toBe(0);
    const icon = root.path('/var/lib/AccountsService/icons/ben');
    for (let i = 0; i < 10; i++) {
      sh(`printf 'not a picture, same size as none' > '${icon}'`); // in place, no longer an image
      expect(await list()).toEqual({ amy: false, ben: false });
      writeFileSync(icon, png);
      expect(await list()).toEqual({ amy: false, ben: true });
      sh(`cp '${icon}' '${root.path('/home/amy/.face')}'`);
      expect(await list()).toEqual({ amy: true, ben: true });
      sh(`mv '${root.path('/home/amy')}' '${root.path('/home/amy.old')}' && mkdir '${root.path('/home/amy')}'`); // home replaced
      expect(await list()).toEqual({ amy: false, ben: true });
      sh(`rmdir '${root.path('/home/amy')}' && mv '${root.path('/home/amy.old')}' '${root.path('/home/amy')}' && rm '${root.path('/home/amy/.face')}'`);
      expect(await list()).toEqual({ amy: false, ben: true });
      sh(`sed -i 's/^ben:/xben:/' '${root.path('/etc/passwd')}'`); // sed -i: a new file renamed over
      expect(await list()).toEqual({ amy: false, xben: false });
      sh(`sed -i 's/^xben:/ben:/' '${root.path('/etc/passwd')}'`);
      expect(await list()).toEqual({ amy: false, ben: true });
    }
    c.close();
  });

  it('v1: raw one-connection-per-request clients get schema-valid replies; start_session needs a login on that VT', async () => {
    d = await startAuthd([{ name: 'vic', password: 'Vic-Password-1' }]);
    const v1 = (msg: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const s = net.connect(d!.socket, () => s.end(encodeLine(msg)));
        const dec = new LineDecoder();
        s.on('data', (b: Buffer) => {
          for (const f of dec.push(b)) if (f.kind === 'message') resolve(f.value);
        });
        s.on('error', reject);
      });
    const check = (r: Record<string, unknown>) => {
      expect(validateReply('auth', 1, r).ok, JSON.stringify(r)).toBe(true);
      return r;
    };
    expect(check(await v1({ type: 'start_session', request_id: 1, username: 'vic', session: 'kde-wayland', vt: 3 }))).toMatchObject({ ok: false, exit_code: null });
    expect(check(await v1({ type: 'authenticate', request_id: 2, username: 'vic', password: 'nope', vt: 3 }))).toEqual({ type: 'authenticate_result', request_id: 2, ok: false, message: 'authentication failed' });
    expect(check(await v1({ type: 'authenticate', request_id: 3, username: 'vic', password: 'Vic-Password-1', vt: 3, extra: 'ignored' }))).toEqual({ type: 'authenticate_result', request_id: 3, ok: true, message: 'authenticated' });
    expect(check(await v1({ type: 'start_session', request_id: 4, username: 'vic', session: 'kde-wayland', vt: 4 }))).toMatchObject({ ok: false });
    // the wrong-VT attempt did not consume it
    expect(check(await v1({ type: 'start_session', request_id: 5, username: 'vic', session: 'kde-wayland', vt: 3 }))).toEqual({ type: 'session_result', request_id: 5, ok: true, exit_code: 0, message: 'session ended' });
    expect(readFileSync(d.sessionLog, 'utf8')).toContain('vic kde-wayland user=vic uid=1000 vt=3');
    expect(check(await v1({ type: 'start_session', request_id: 6, username: 'vic', session: 'kde-wayland', vt: 3 }))).toMatchObject({ ok: false });
    expect(check(await v1({ type: 'power_action', request_id: 7, action: 'shutdown' }))).toEqual({ type: 'power_result', request_id: 7, ok: true, message: 'shutdown requested' });
    expect(check(await v1({ type: 'bogus', request_id: 8 }))).toMatchObject({ type: 'error' });
  });
});
