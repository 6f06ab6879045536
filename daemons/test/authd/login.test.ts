import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { assertNoSecrets } from '../../../test/harness/index.js';
import type { ProtocolClient } from '../../../protocol/src/node/index.js';
import { codeOf, startAuthd, type Authd } from './helpers.js';

const PW: Record<string, string> = {
  alice: 'alice-Secret-1', bob: 'bob-Secret-22', carol: 'carol-Secret-333', dave: 'dave-Secret-4444', erin: 'erin-Secret-55555',
  frank: 'frank-Secret-argon', gina: 'gina-Secret-lock', hank: 'hank-Secret-shell', ivy: 'ivy-Secret-exp', jay: 'jay-Secret-chg',
  kim: 'kim-Secret-aged', lee: 'lee-Secret-inact', moe: 'moe-Secret-md5',
};

/** Rewrite one user's shadow line with fn(fields). */
function editShadow(dir: string, user: string, fn: (f: string[]) => void): void {
  const file = `${dir}/etc/shadow`;
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => {
    const f = l.split(':');
    if (f[0] !== user) return l;
    fn(f);
    return f.join(':');
  });
  writeFileSync(file, lines.join('\n'));
}

describe('authd verification through the daemon', () => {
  let d: Authd;
  let c: ProtocolClient;
  const today = Math.floor(Date.now() / 86_400_000);
  beforeAll(async () => {
    d = await startAuthd([
      { name: 'alice', password: PW.alice!, method: 'sha-512' },
      { name: 'bob', password: PW.bob!, method: 'sha-256' },
      { name: 'carol', password: PW.carol!, method: 'sha-512', rounds: 10_000 },
      { name: 'dave', password: PW.dave!, method: 'yescrypt' },
      { name: 'erin', password: PW.erin!, method: 'sha-256', rounds: 20_000 },
      { name: 'frank', password: 'placeholder-1' },
      { name: 'gina', password: PW.gina! },
      { name: 'hank', password: PW.hank!, shell: '/usr/sbin/nologin' },
      { name: 'ivy', password: PW.ivy! },
      { name: 'jay', password: PW.jay! },
      { name: 'kim', password: PW.kim! },
      { name: 'lee', password: PW.lee! },
      { name: 'moe', password: 'placeholder-2' },
    ]);
    const dir = d.root.dir;
    const argonHash = execFileSync('argon2', ['saltsaltsalt', '-id', '-t', '2', '-m', '12', '-p', '1', '-e'], { input: PW.frank!, encoding: 'utf8' }).trim();
    editShadow(dir, 'frank', (f) => (f[1] = argonHash));
    editShadow(dir, 'gina', (f) => (f[1] = '!' + f[1]));
    editShadow(dir, 'ivy', (f) => (f[7] = String(today - 1)));
    editShadow(dir, 'jay', (f) => (f[2] = '0'));
    editShadow(dir, 'kim', (f) => ((f[2] = String(today - 100)), (f[4] = '30')));
    editShadow(dir, 'lee', (f) => ((f[2] = String(today - 100)), (f[4] = '30'), (f[6] = '10')));
    editShadow(dir, 'moe', (f) => (f[1] = '$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0'));
    c = await d.client();
  });
  afterAll(async () => {
    c?.close();
    await d?.stop();
    d?.root.cleanup();
  });

  const auth = (username: string, password: string, vt = 2) => c.request({ type: 'authenticate', username, password, vt, purpose: 'login' });

  it.each(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'])('%s: right password verifies, wrong fails', async (u) => {
    const ok = await auth(u, PW[u]!);
    expect(ok).toMatchObject({ type: 'authenticate_result', username: u, expires_in_ms: 15_000 });
    expect(String(ok.approval)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await codeOf(auth(u, PW[u]! + 'x'))).toBe('auth_failed');
    expect(await codeOf(auth(u, ''))).toBe('auth_failed');
  });

  it.each([
    ['gina', 'account_locked'],
    ['hank', 'account_disabled'],
    ['ivy', 'account_expired'],
    ['jay', 'password_change_required'],
    ['kim', 'password_expired'],
    ['lee', 'account_expired'],
  ])('%s: the right password gives the typed state error %s; a wrong one only auth_failed', async (u, code) => {
    expect(await codeOf(auth(u, PW[u]!))).toBe(code);
    expect(await codeOf(auth(u, 'not-the-password'))).toBe('auth_failed');
  });

  it('an unsupported scheme is named', async () => {
    const e = await auth('moe', 'whatever').catch((x: unknown) => x as { code: string; extra: { scheme?: string } });
    expect(e).toMatchObject({ code: 'unsupported_hash', extra: { scheme: 'md5crypt ($1$)' } });
  });

  it('unknown users fail exactly like wrong passwords', async () => {
    expect(await codeOf(auth('nobody-here', 'x'))).toBe('auth_failed');
    expect(await codeOf(auth('Robert"); DROP', 'x'))).toBe('auth_failed');
  });

  it('an expired password can be changed after the old one is verified', async () => {
    expect(await codeOf(c.request({ type: 'change_password', username: 'kim', old_password: 'wrong-old-pw', new_password: 'kim-New-Secret-9' }))).toBe('auth_failed');
    await c.request({ type: 'change_password', username: 'kim', old_password: PW.kim!, new_password: 'kim-New-Secret-9' });
    expect(await auth('kim', 'kim-New-Secret-9')).toMatchObject({ type: 'authenticate_result', username: 'kim' });
    PW.kim2 = 'kim-New-Secret-9';
  });

  it('approvals are single-use, bound to VT and purpose, and carry the account', async () => {
    const r = await auth('alice', PW.alice!, 3);
    const approval = r.approval as string;
    expect(await codeOf(c.request({ type: 'consume_approval', approval, vt: 4, purpose: 'login' }))).toBe('approval_invalid');
    // A mismatch burns it.
    expect(await codeOf(c.request({ type: 'consume_approval', approval, vt: 3, purpose: 'login' }))).toBe('approval_invalid');
    const r2 = await auth('alice', PW.alice!, 3);
    expect(await codeOf(c.request({ type: 'consume_approval', approval: r2.approval, vt: 3, purpose: 'unlock' }))).toBe('approval_invalid');
    const r3 = await auth('alice', PW.alice!, 3);
    const ok = await c.request({ type: 'consume_approval', approval: r3.approval, vt: 3, purpose: 'login' });
    expect(ok).toMatchObject({ type: 'approval_result', username: 'alice', home: '/home/alice', shell: '/bin/bash', purpose: 'login', keystore_grant: null });
    expect(await codeOf(c.request({ type: 'consume_approval', approval: r3.approval, vt: 3, purpose: 'login' }))).toBe('approval_invalid');
  });

  it('list_users shows human users without any hash', async () => {
    const r = await c.request({ type: 'list_users' });
    const users = r.users as Array<Record<string, unknown>>;
    expect(users.map((u) => u.username)).toContain('alice');
    expect(users.map((u) => u.username)).not.toContain('hank'); // nologin shell: not a human user
    expect(users.find((u) => u.username === 'gina')).toMatchObject({ locked: true, has_pin: false, has_avatar: false });
    expect(JSON.stringify(r)).not.toMatch(/\$6\$|\$5\$|\$y\$|argon2/);
  });

  it('power actions run the configured command', async () => {
    expect(await c.request({ type: 'power_action', action: 'reboot' })).toMatchObject({ type: 'power_result', ok: true });
    expect(readFileSync(d.powerLog, 'utf8')).toContain('reboot');
  });

  it('no password appears in any log', async () => {
    await d.stop();
    const logs = d.logs();
    expect(logs).toContain('authentication failed');
    assertNoSecrets({ logs }, [...Object.values(PW), 'not-the-password']);
    await d.restart();
    c = await d.client();
  });
});
