import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { ProtocolClient } from '../../../protocol/src/node/index.js';
import { assertNoSecrets } from '../../../test/harness/index.js';
import { createStore, openStore, umkKeyProvider } from '../../src/lib/securefs/index.js';
import sodium from 'libsodium-wrappers-sumo';
import { KeystoreClient, remoteKeyProvider, parseRecoveryKey, encodeSealedPlain, ROLE, deriveUnlockSecret } from '../../src/lib/keystore-client/index.js';
import { deriveKek, unwrapUmk, wrapAad } from '../../src/keystored/crypto.js';
import { code, editRecord, pw, recordFile, startEnv, type Env } from './helpers.js';

const FID = Buffer.alloc(16, 0xab);
const secrets: string[] = [];

describe('redbear-keystored', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    const logs = env.daemon.stderr() + env.daemon.stdout();
    await env.cleanup();
    // Nothing secret ever reaches keystored's log.
    assertNoSecrets({ 'keystored log': logs }, secrets);
  });

  async function session(uid: number, password: string, sid = `s-${uid}`) {
    const { grant } = await env.client.unlock(uid, pw(password), 'password');
    secrets.push(grant);
    const s = await env.client.openSession(grant, sid);
    secrets.push(s.token);
    return s;
  }

  it('state is private: socket 0600, state dir 0700, pepper 0600', () => {
    expect(statSync(env.daemon.socket).mode & 0o777).toBe(0o600);
    const dir = env.root.path('/var/lib/redbear/keystore');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'pepper')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'pepper')).size).toBe(32);
  });

  it('enroll → unlock → grant → open_session → file keys match the SecureFS hierarchy', async () => {
    secrets.push('correct horse battery');
    const { recoveryKey, storeId } = await env.client.enroll(1000, 'alice', pw('correct horse battery'));
    secrets.push(recoveryKey, recoveryKey.replace(/-/g, ''));
    expect(recoveryKey).toMatch(/^([A-Z2-7]{4}-){13}[A-Z2-7]{4}$/);
    expect(storeId).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(recordFile(env, 1000)).mode & 0o777).toBe(0o600);
    const st = await env.client.status(1000);
    expect(st).toEqual({ exists: true, unlocked: false, protectors: ['password', 'recovery'], open_sessions: 0 });
    expect(await code(env.client.enroll(1000, 'alice', pw('x')))).toBe('exists');

    const s = await session(1000, 'correct horse battery');
    expect(s.storeId).toBe(storeId);
    const k1 = await env.client.fileKey(s.token, FID, 1);
    const k1b = await env.client.fileKey(s.token, FID, 1);
    const k2 = await env.client.fileKey(s.token, FID, 2);
    expect(k1.length).toBe(32);
    expect(k1.equals(k1b)).toBe(true);
    expect(k1.equals(k2)).toBe(false);
    expect((await env.client.indexKey(s.token)).length).toBe(32);
    expect(await env.client.status(1000)).toMatchObject({ unlocked: true, open_sessions: 1 });

    // A SecureFS store driven by keystored over the socket, with rollback checkpoints.
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-sfs-'));
    const store = await createStore(dir, remoteKeyProvider(env.client, s.token, storeId));
    await store.writeFile('/hello.txt', 'hi there');
    await store.close();
    const again = await openStore(dir, remoteKeyProvider(env.client, s.token, storeId));
    expect((await again.readFile('/hello.txt')).toString()).toBe('hi there');
    expect(again.rollbackProtected).toBe(true);
    await again.close();
    const cp = await env.client.lastCheckpoint(s.token);
    expect(cp?.epoch).toBeGreaterThanOrEqual(2);
    expect(await code(env.client.checkpoint(s.token, 1, Buffer.alloc(32)))).toBe('integrity');
  });

  it('wrong password → auth_failed; garbage token → unauthorized', async () => {
    expect(await code(env.client.unlock(1000, pw('wrong password'), 'password'))).toBe('auth_failed');
    expect(await code(env.client.unlock(4242, pw('whatever'), 'password'))).toBe('not_found');
    expect(await code(env.client.fileKey('AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAA', FID, 1))).toBe('unauthorized');
    // A token with a flipped MAC bit.
    const s = await session(1000, 'correct horse battery', 'tamper');
    const [p, m] = s.token.split('.') as [string, string];
    const mac = Buffer.from(m, 'base64url');
    mac[0]! ^= 1;
    expect(await code(env.client.fileKey(`${p}.${mac.toString('base64url')}`, FID, 1))).toBe('unauthorized');
    await env.client.closeSession(s.token);
  });

  it('grants are single use', async () => {
    const { grant } = await env.client.unlock(1000, pw('correct horse battery'), 'password');
    const s = await env.client.openSession(grant, 'single');
    expect(await code(env.client.openSession(grant, 'single-2'))).toBe('approval_invalid');
    await env.client.closeSession(s.token);
  });

  it('lock_user wipes keys (keystore_locked); a fresh unlock brings the same keys back', async () => {
    const s = await session(1000, 'correct horse battery');
    const before = await env.client.fileKey(s.token, FID, 1);
    await env.client.lockUser(1000);
    expect(await env.client.status(1000)).toMatchObject({ unlocked: false });
    expect(await code(env.client.fileKey(s.token, FID, 1))).toBe('keystore_locked');
    expect(await code(env.client.indexKey(s.token))).toBe('keystore_locked');
    // Re-opening the same session id after a fresh unlock resumes the old token too.
    const again = await session(1000, 'correct horse battery');
    expect((await env.client.fileKey(again.token, FID, 1)).equals(before)).toBe(true);
    expect((await env.client.fileKey(s.token, FID, 1)).equals(before)).toBe(true);
  });

  it('close_session wipes the UMK once no unlocked session remains; closed tokens stay dead', async () => {
    await env.client.lockUser(1000);
    const base = (await env.client.status(1000)).open_sessions; // locked sessions of earlier tests
    const a = await session(1000, 'correct horse battery', 'a');
    const b = await session(1000, 'correct horse battery', 'b');
    await env.client.closeSession(a.token);
    expect(await env.client.status(1000)).toMatchObject({ unlocked: true, open_sessions: base + 1 });
    await env.client.lockSession(b.token);
    expect(await env.client.status(1000)).toMatchObject({ unlocked: false });
    expect(await code(env.client.fileKey(b.token, FID, 1))).toBe('keystore_locked');
    await env.client.closeSession(b.token);
    expect(await code(env.client.fileKey(a.token, FID, 1))).toBe('unauthorized');
    // A new session with a reused id does not revive the closed token.
    const a2 = await session(1000, 'correct horse battery', 'a');
    expect(await code(env.client.fileKey(a.token, FID, 1))).toBe('unauthorized');
    await env.client.closeSession(a2.token);
    expect(await env.client.status(1000)).toMatchObject({ unlocked: false, open_sessions: base });
  });

  it('scopes are enforced', async () => {
    const { grant } = await env.client.unlock(1000, pw('correct horse battery'), 'password');
    const s = await env.client.openSession(grant, 'signer', ['sign']);
    expect(await code(env.client.fileKey(s.token, FID, 1))).toBe('unauthorized');
    const data = Buffer.from('attest me');
    const { signature } = await env.client.sign(s.token, data);
    await env.client.closeSession(s.token);
    // verify works while locked, against the public key in the record
    expect(await env.client.verify(1000, data, signature)).toBe(true);
    expect(await env.client.verify(1000, Buffer.from('attest mE'), signature)).toBe(false);
  });

  it('seal/unseal small secrets; 4 KiB limit; a blob of another user fails', async () => {
    const s = await session(1000, 'correct horse battery', 'sealer');
    const blob = await env.client.sealData(s.token, Buffer.from('wifi password'));
    expect((await env.client.unsealData(s.token, blob)).toString()).toBe('wifi password');
    const bad = Buffer.from(blob);
    bad[bad.length - 1]! ^= 1;
    expect(await code(env.client.unsealData(s.token, bad))).toBe('integrity');
    expect(await code(env.client.sealData(s.token, Buffer.alloc(5000)))).toBe('bad_request');
    await env.client.enroll(1001, 'bob', pw('bob password 1'));
    const sb = await session(1001, 'bob password 1');
    expect(await code(env.client.unsealData(sb.token, blob))).toBe('integrity');
    await env.client.closeSession(sb.token);
    await env.client.closeSession(s.token);
  });

  it('a challenge is single-use: replaying a sealed unlock is refused', async () => {
    const raw = await ProtocolClient.connect({ iface: 'keystore', socketPath: env.daemon.socket });
    try {
      // Capture what KeystoreClient sends by wrapping request().
      const sent: Array<Record<string, unknown>> = [];
      const spy = new KeystoreClient({ socketPath: env.daemon.socket });
      const orig = spy.request.bind(spy);
      spy.request = (async (m: Record<string, unknown> & { type: string }) => {
        sent.push(m);
        return orig(m);
      }) as typeof spy.request;
      await spy.unlock(1000, pw('correct horse battery'), 'password');
      spy.close();
      const unlockMsg = sent.find((m) => m.type === 'unlock')!;
      await expect(raw.request(unlockMsg as Record<string, unknown> & { type: string })).rejects.toMatchObject({ code: 'invalid_state' });
      // A sealed blob of another role is refused too.
      await expect(raw.request({ type: 'enroll', uid: 1003, username: 'mallory', sealed: unlockMsg.sealed, sealed_pin: null })).rejects.toMatchObject({
        code: 'auth_failed',
      });
      // A challenge issued for another uid is refused (and consumed by nobody).
      await sodium.ready;
      const ch = (await raw.request({ type: 'get_challenge', uid: 1001, purpose: 'unlock', protector: 'password' })) as Record<string, string>;
      const plain = encodeSealedPlain(ROLE.current, Buffer.from(ch.challenge!, 'base64'), randomBytes(32));
      const sealed = Buffer.from(sodium.crypto_box_seal(plain, Buffer.from(ch.server_public_key!, 'base64'))).toString('base64');
      await expect(raw.request({ type: 'unlock', uid: 1000, protector: 'password', sealed })).rejects.toMatchObject({ code: 'invalid_state' });
      // An unlock challenge cannot serve a password change.
      const ch2 = (await raw.request({ type: 'get_challenge', uid: 1000, purpose: 'unlock', protector: 'password' })) as Record<string, string>;
      const seal2 = (role: 1 | 2) =>
        Buffer.from(sodium.crypto_box_seal(encodeSealedPlain(role, Buffer.from(ch2.challenge!, 'base64'), randomBytes(32)), Buffer.from(ch2.server_public_key!, 'base64'))).toString('base64');
      await expect(raw.request({ type: 'rewrap', uid: 1000, old_sealed: seal2(1), new_sealed: seal2(2) })).rejects.toMatchObject({ code: 'invalid_state' });
    } finally {
      raw.close();
    }
  });

  it('a record whose Argon2 parameters were downgraded on disk does not unwrap', async () => {
    await env.client.enroll(1002, 'carol', pw('carol password'));
    editRecord(env, 1002, (rec) => {
      const p = rec.protectors.find((x) => x.kind === 'password')!;
      (p.kdf as { memory_kib: number; time_cost: number }).memory_kib = 1024;
    });
    expect(await code(env.client.unlock(1002, pw('carol password'), 'password'))).toBe('auth_failed');
    // Even with the client forced to use the original parameters, the AAD binding fails the unwrap.
    editRecord(env, 1002, (rec) => {
      const p = rec.protectors.find((x) => x.kind === 'password')!;
      (p.kdf as { memory_kib: number }).memory_kib = 8192;
    });
    expect(await code(env.client.unlock(1002, pw('carol password'), 'password'))).toBe('resolved');
    editRecord(env, 1002, (rec) => {
      const p = rec.protectors.find((x) => x.kind === 'password')!;
      p.id = (p.id as string).replace(/^./, (c) => (c === '0' ? '1' : '0'));
    });
    expect(await code(env.client.unlock(1002, pw('carol password'), 'password'))).toBe('auth_failed');
  });

  it('password change rewraps: old password stops working, file keys stay identical', async () => {
    const s = await session(1001, 'bob password 1', 'pwchange');
    const before = await env.client.fileKey(s.token, FID, 7);
    await env.client.closeSession(s.token);
    expect(await code(env.client.changePassword(1001, pw('not the password'), pw('bob password 2')))).toBe('auth_failed');
    await env.client.changePassword(1001, pw('bob password 1'), pw('bob password 2'));
    expect(await code(env.client.unlock(1001, pw('bob password 1'), 'password'))).toBe('auth_failed');
    const s2 = await session(1001, 'bob password 2', 'pwchange');
    expect((await env.client.fileKey(s2.token, FID, 7)).equals(before)).toBe(true);
    await env.client.closeSession(s2.token);
  });

  it('PIN: set, unlock, 3 failures disable it until a password unlock', async () => {
    await env.client.setPin(1001, pw('bob password 2'), pw('123456'));
    expect((await env.client.status(1001)).protectors.sort()).toEqual(['password', 'pin', 'recovery']);
    const { grant } = await env.client.unlock(1001, pw('123456'), 'pin');
    expect(grant).toBeTruthy();
    for (let i = 0; i < 3; i++) expect(await code(env.client.unlock(1001, pw('000000'), 'pin'))).toBe('auth_failed');
    expect(await code(env.client.unlock(1001, pw('123456'), 'pin'))).toBe('rate_limited');
    await env.client.unlock(1001, pw('bob password 2'), 'password');
    await env.client.unlock(1001, pw('123456'), 'pin');
    await env.client.setPin(1001, pw('bob password 2'), null);
    expect(await code(env.client.unlock(1001, pw('123456'), 'pin'))).toBe('not_found');
  });

  it('recovery key unlock and password reset (keys unchanged)', async () => {
    const { recoveryKey } = await env.client.enroll(1004, 'dave', pw('dave password'), pw('4444'));
    secrets.push(recoveryKey);
    const s = await session(1004, 'dave password', 'rk');
    const before = await env.client.fileKey(s.token, FID, 1);
    await env.client.closeSession(s.token);
    // Typed in lower case with spaces: still accepted. A typo fails locally (checksum).
    const typed = recoveryKey.toLowerCase().replace(/-/g, ' ');
    const { grant } = await env.client.unlock(1004, pw(typed), 'recovery');
    await env.client.closeSession((await env.client.openSession(grant, 'rk')).token);
    const typo = recoveryKey.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    expect(await code(env.client.unlock(1004, pw(typo), 'recovery'))).toBe('auth_failed');
    expect(parseRecoveryKey(typo)).toBeNull();

    await env.client.resetWithRecovery(1004, pw(recoveryKey), pw('dave new password'));
    expect(await code(env.client.unlock(1004, pw('dave password'), 'password'))).toBe('auth_failed');
    expect((await env.client.status(1004)).protectors.sort()).toEqual(['password', 'recovery']);
    const s2 = await session(1004, 'dave new password', 'rk');
    expect((await env.client.fileKey(s2.token, FID, 1)).equals(before)).toBe(true);
    await env.client.closeSession(s2.token);
  });

  it('destroy crypto-shreds: record gone, keys unrecoverable, sessions dead', async () => {
    const s = await session(1004, 'dave new password', 'doomed');
    await env.client.destroy(1004);
    expect(existsSync(recordFile(env, 1004))).toBe(false);
    expect(await env.client.status(1004)).toEqual({ exists: false, unlocked: false, protectors: [], open_sessions: 0 });
    expect(await code(env.client.fileKey(s.token, FID, 1))).toBe('unauthorized');
    expect(await code(env.client.unlock(1004, pw('dave new password'), 'password'))).toBe('not_found');
    // No file under the state dir still holds anything that unwraps: only the pepper and other users remain.
    await env.client.destroy(1004); // idempotent
  });

  it('on-disk format: password + pepper unwrap the UMK, whose local hierarchy equals keystored\'s keys', async () => {
    const s = await session(1000, 'correct horse battery', 'format');
    const rec = JSON.parse(readFileSync(recordFile(env, 1000), 'utf8'));
    const p = rec.protectors.find((x: { kind: string }) => x.kind === 'password');
    const pepper = readFileSync(env.root.path('/var/lib/redbear/keystore/pepper'));
    const secret = await deriveUnlockSecret(pw('correct horse battery'), p.kdf);
    const aad = wrapAad(1000, rec.store_id, 'password', p.id, p.kdf);
    const umk = unwrapUmk(deriveKek(secret, pepper, Buffer.from(p.id, 'hex'), aad), Buffer.from(p.nonce, 'hex'), Buffer.from(p.wrapped, 'hex'), aad)!;
    expect(umk).not.toBeNull();
    // Without the pepper the same password gives nothing.
    expect(unwrapUmk(deriveKek(secret, Buffer.alloc(32), Buffer.from(p.id, 'hex'), aad), Buffer.from(p.nonce, 'hex'), Buffer.from(p.wrapped, 'hex'), aad)).toBeNull();
    const local = umkKeyProvider(umk, Buffer.from(rec.store_id, 'hex'));
    expect((await local.fileKey(FID, 3)).equals(await env.client.fileKey(s.token, FID, 3))).toBe(true);
    expect((await local.indexKey()).equals(await env.client.indexKey(s.token))).toBe(true);
    await env.client.closeSession(s.token);
  });

  it('UMK-derived keys equal the reference hierarchy only for the right UMK (no UMK export)', async () => {
    const s = await session(1000, 'correct horse battery', 'ref');
    const k = await env.client.fileKey(s.token, FID, 1);
    const guess = umkKeyProvider(randomBytes(32), Buffer.from(s.storeId, 'hex'));
    expect((await guess.fileKey(FID, 1)).equals(k)).toBe(false);
    // The record holds only wrapped material.
    const text = readFileSync(recordFile(env, 1000), 'utf8');
    expect(text).not.toContain(k.toString('hex'));
    await env.client.closeSession(s.token);
  });
});
