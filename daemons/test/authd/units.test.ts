import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'smol-toml';
import { Approvals } from '../../src/authd/approvals.js';
import { AUTHD_DEFAULTS, kdfWorkers } from '../../src/authd/config.js';
import { estimateStrength, checkPasswordPolicy } from '../../src/authd/password-policy.js';
import { Throttle } from '../../src/authd/throttle.js';
import { sniff } from '../../src/authd/user-directory.js';
import { REPO } from '../../../test/harness/index.js';

const policy = { ...AUTHD_DEFAULTS.throttle };

describe('throttle (injected clock)', () => {
  it('locks a name out after max_failures, growing, and a success resets', () => {
    let t = 1_000_000;
    const th = new Throttle(policy, () => t);
    for (let i = 0; i < 4; i++) expect(th.failure('alice', 'c1')).toBe(0);
    expect(th.retryAfter('alice', 'c1')).toBe(0);
    expect(th.failure('alice', 'c1')).toBe(30_000);
    expect(th.retryAfter('alice', 'c2')).toBe(30_000);
    expect(th.retryAfter('bob', 'c2')).toBe(0);
    t += 10_000;
    expect(th.retryAfter('alice', 'c2')).toBe(20_000);
    t += 20_000;
    expect(th.retryAfter('alice', 'c2')).toBe(0);
    for (let i = 0; i < 4; i++) th.failure('alice', 'c2');
    expect(th.failure('alice', 'c2')).toBe(60_000); // second lockout doubles
    t += 60_000;
    for (let i = 0; i < 5; i++) th.failure('alice', 'c3');
    expect(th.retryAfter('alice', 'c4')).toBe(120_000);
    t += 120_000;
    th.success('alice');
    for (let i = 0; i < 4; i++) th.failure('alice', 'c5');
    expect(th.failure('alice', 'c5')).toBe(30_000); // back to the first step
  });

  it('caps the lockout and forgets old tallies', () => {
    let t = 0;
    const th = new Throttle({ ...policy, lockout_max_ms: 50_000 }, () => t);
    for (let k = 0; k < 5; k++) {
      for (let i = 0; i < 5; i++) th.failure('a', `c${k}`);
      t += 1_000_000;
    }
    for (let i = 0; i < 5; i++) th.failure('a', 'x');
    expect(th.retryAfter('a', 'y')).toBeLessThanOrEqual(50_000);
    const fresh = new Throttle(policy, () => t);
    fresh.failure('b', 'c');
    t += policy.reset_after_ms;
    expect(fresh.tally('b')).toBeUndefined();
  });

  it('limits a client over many names', () => {
    let t = 0;
    const th = new Throttle({ ...policy, client_max_failures: 10, client_window_ms: 60_000 }, () => t);
    for (let i = 0; i < 10; i++) th.failure(`user${i}`, 'spray');
    expect(th.retryAfter('someone-else', 'spray')).toBe(60_000);
    expect(th.retryAfter('someone-else', 'other')).toBe(0);
    t += 60_001;
    expect(th.retryAfter('someone-else', 'spray')).toBe(0);
  });

  it('survives a snapshot/restore round trip and ignores junk', () => {
    let t = 5_000;
    const th = new Throttle(policy, () => t);
    for (let i = 0; i < 5; i++) th.failure('alice', 'c');
    const again = new Throttle(policy, () => t);
    again.restore(JSON.parse(JSON.stringify(th.snapshot())));
    expect(again.retryAfter('alice', 'new-client')).toBe(30_000);
    again.restore({ version: 1, users: { x: null, y: { failures: 'many' }, ['z'.repeat(300)]: {} } });
    again.restore('garbage');
    expect(again.tally('y')).toBeUndefined();
    t += 1;
  });

  it('bounds memory under a flood of names, keeping locked ones', () => {
    const t = 0;
    const th = new Throttle({ ...policy, max_tracked_users: 16 }, () => t);
    for (let i = 0; i < 5; i++) th.failure('victim', `c${i}`);
    for (let i = 0; i < 1000; i++) th.failure(`junk${i}`, `k${i}`);
    expect(Object.keys(th.snapshot().users).length).toBeLessThanOrEqual(16);
    expect(th.retryAfter('victim', 'z')).toBeGreaterThan(0);
  });
});

describe('approvals (injected clock)', () => {
  it('expire, are single-use and bound to VT and purpose', () => {
    let t = 0;
    const a = new Approvals(15_000, 8, () => t);
    const g = { uid: 1000, username: 'alice', vt: 2, purpose: 'login' as const, session_id: undefined, keystore_grant: 'g' };
    const { approval } = a.issue(g);
    t += 15_000;
    expect(() => a.consume(approval, 2, 'login')).toThrow(/expired/);
    const second = a.issue(g).approval;
    t += 14_999;
    expect(a.consume(second, 2, 'login')).toMatchObject({ uid: 1000, keystore_grant: 'g' });
    expect(() => a.consume(second, 2, 'login')).toThrow(/approval/);
    const third = a.issue(g).approval;
    expect(() => a.consume(third, 3, 'login')).toThrow(/VT/);
    expect(() => a.consume(third, 2, 'login')).toThrow(); // burnt
    expect(a.consumeFor('alice', 2)).toBeNull();
    a.issue(g);
    expect(a.consumeFor('alice', 3)).toBeNull();
    expect(a.consumeFor('alice', 2)).toMatchObject({ uid: 1000 });
    for (let i = 0; i < 20; i++) a.issue(g);
    expect(a.size).toBeLessThanOrEqual(8);
  });
});

describe('password policy', () => {
  it('estimates strength on a 0–4 scale', () => {
    expect(estimateStrength('password').score).toBe(0);
    expect(estimateStrength('alice2024!', ['alice']).score).toBe(1);
    expect(estimateStrength('correct horse battery staple').score).toBe(4);
    expect(estimateStrength('Tr0ub4dor&3x!').score).toBeGreaterThanOrEqual(3);
  });
  it('refuses short passwords; weak ones only when enforced', () => {
    expect(() => checkPasswordPolicy('short', [], AUTHD_DEFAULTS.password_policy)).toThrow(/at least 8/);
    expect(checkPasswordPolicy('aaaaaaaa', [], AUTHD_DEFAULTS.password_policy).score).toBeLessThan(2);
    expect(() => checkPasswordPolicy('aaaaaaaa', [], { ...AUTHD_DEFAULTS.password_policy, enforce_strength: true })).toThrow(/weak/);
  });
});

describe('configuration', () => {
  it('config/defaults/authd.toml documents exactly AUTHD_DEFAULTS', () => {
    const file = parse(readFileSync(path.join(REPO, 'config/defaults/authd.toml'), 'utf8'));
    expect(isDeepStrictEqual(JSON.parse(JSON.stringify(file)), AUTHD_DEFAULTS)).toBe(true);
  });
  it('KDF workers: by default one less than the cores (1..2), so the event loop keeps a core; a set value wins', () => {
    expect(AUTHD_DEFAULTS.hashing.workers).toBe(0);
    expect([1, 2, 3, 4, 64].map((cores) => kdfWorkers(0, cores))).toEqual([1, 1, 2, 2, 2]);
    expect(kdfWorkers(3, 1)).toBe(3);
  });
});

describe('avatar sniffing', () => {
  it('recognises png, jpeg and svg only', () => {
    expect(sniff(Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe('image/png');
    expect(sniff(Buffer.from('ffd8ffe000', 'hex'))).toBe('image/jpeg');
    expect(sniff(Buffer.from('<?xml version="1.0"?><svg/>'))).toBe('image/svg+xml');
    expect(sniff(Buffer.from('#!/bin/sh'))).toBeNull();
  });
});
