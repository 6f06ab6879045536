import { describe, expect, it } from 'vitest';
import type { PasswdEntry, ShadowEntry } from './formats.js';
import { parseLoginDefs } from './login-defs.js';
import { accountState, daysSinceEpoch, isDisabledShell, isHumanUser, isLockedHash, parseShells } from './state.js';

const pw = (over: Partial<PasswdEntry> = {}): PasswdEntry => ({ name: 'alice', password: 'x', uid: 1000, gid: 1000, gecos: 'Alice', home: '/home/alice', shell: '/bin/bash', ...over });
const sp = (over: Partial<ShadowEntry> = {}): ShadowEntry => ({
  name: 'alice',
  hash: '$6$salt$hash',
  lastChange: 20000,
  minDays: 0,
  maxDays: 99999,
  warnDays: 7,
  inactiveDays: null,
  expireDate: null,
  flag: null,
  ...over,
});
const shells = ['/bin/sh', '/bin/bash'];
const at = (nowDays: number) => ({ nowDays, shells });

describe('accountState', () => {
  it('ok for a normal account', () => {
    expect(accountState(pw(), sp(), at(20001))).toEqual({ ok: true });
  });
  it('locked: ! or * prefix, bare !, x without shadow line', () => {
    for (const hash of ['!$6$salt$hash', '!', '*', '!!', '*LK*']) expect(accountState(pw(), sp({ hash }), at(20001))).toEqual({ ok: false, reason: 'locked' });
    expect(accountState(pw(), undefined, at(20001))).toEqual({ ok: false, reason: 'locked' });
    expect(isLockedHash('$y$abc')).toBe(false);
  });
  it('no_password for an empty hash', () => {
    expect(accountState(pw(), sp({ hash: '' }), at(20001))).toEqual({ ok: false, reason: 'no_password' });
    expect(accountState(pw({ password: '' }), undefined, at(20001))).toEqual({ ok: false, reason: 'no_password' });
  });
  it('disabled_shell: nologin list, and /etc/shells membership when present', () => {
    for (const shell of ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false']) {
      expect(accountState(pw({ shell }), sp(), at(20001))).toEqual({ ok: false, reason: 'disabled_shell' });
      expect(isDisabledShell(shell, null)).toBe(true);
    }
    expect(accountState(pw({ shell: '/usr/bin/zsh' }), sp(), at(20001))).toEqual({ ok: false, reason: 'disabled_shell' });
    expect(accountState(pw({ shell: '/usr/bin/zsh' }), sp(), { nowDays: 20001, shells: null })).toEqual({ ok: true });
    expect(accountState(pw({ shell: '' }), sp(), at(20001))).toEqual({ ok: true }); // empty = /bin/sh
  });
  it('account_expired on and after sp_expire; 0 means never', () => {
    expect(accountState(pw(), sp({ expireDate: 20005 }), at(20004))).toEqual({ ok: true });
    expect(accountState(pw(), sp({ expireDate: 20005 }), at(20005))).toEqual({ ok: false, reason: 'account_expired' });
    expect(accountState(pw(), sp({ expireDate: 0 }), at(20005))).toEqual({ ok: true });
  });
  it('password_change_required when sp_lstchg is 0', () => {
    expect(accountState(pw(), sp({ lastChange: 0 }), at(20001))).toEqual({ ok: false, reason: 'password_change_required' });
  });
  it('password_expired by aging, inactive after the grace period', () => {
    const s = sp({ lastChange: 20000, maxDays: 30, inactiveDays: 10 });
    expect(accountState(pw(), s, at(20029))).toEqual({ ok: true });
    expect(accountState(pw(), s, at(20030))).toEqual({ ok: false, reason: 'password_expired' });
    expect(accountState(pw(), s, at(20039))).toEqual({ ok: false, reason: 'password_expired' });
    expect(accountState(pw(), s, at(20040))).toEqual({ ok: false, reason: 'inactive' });
    expect(accountState(pw(), sp({ maxDays: null }), at(99999))).toEqual({ ok: true });
    expect(accountState(pw(), sp({ lastChange: null, maxDays: 1 }), at(99999))).toEqual({ ok: true });
  });
  it('check order: locked beats expiry', () => {
    expect(accountState(pw(), sp({ hash: '!x', expireDate: 1 }), at(20001))).toEqual({ ok: false, reason: 'locked' });
  });
  it('daysSinceEpoch', () => {
    expect(daysSinceEpoch(Date.UTC(2024, 0, 1, 23, 59))).toBe(19723);
  });
});

describe('isHumanUser / shells', () => {
  const defs = parseLoginDefs('');
  it('uid range and shell', () => {
    expect(isHumanUser(pw(), defs, shells)).toBe(true);
    expect(isHumanUser(pw({ uid: 999 }), defs, shells)).toBe(false);
    expect(isHumanUser(pw({ uid: 65534 }), defs, shells)).toBe(false);
    expect(isHumanUser(pw({ uid: 60000 }), defs, shells)).toBe(true);
    expect(isHumanUser(pw({ shell: '/usr/sbin/nologin' }), defs, shells)).toBe(false);
  });
  it('parseShells skips comments and blanks', () => {
    expect(parseShells('# x\n/bin/sh\n\n  /bin/bash  \n')).toEqual(['/bin/sh', '/bin/bash']);
  });
});
