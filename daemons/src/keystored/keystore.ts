import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { ProtocolError } from '@redbear/protocol';
import type { Logger } from '../runtime/index.js';
import { deriveContentRoot, deriveFileKey, deriveIndexKey } from '../lib/securefs/index.js';
import { decodeSealedPlain, formatRecoveryKey, ROLE, SEALED_LEN, type KdfParams, type Role } from '../lib/keystore-client/index.js';
import type { KeystoredConfig } from './config.js';
import {
  deriveKek,
  deriveSealKey,
  deriveSigningKey,
  PROTECTOR_ID_LEN,
  sealBlob,
  signData,
  STORE_ID_LEN,
  UMK_LEN,
  unsealBlob,
  unwrapUmk,
  verifyData,
  wrapAad,
  wrapUmk,
  type ProtectorKind,
} from './crypto.js';
import { CorruptRecordError, type ProtectorRecord, type StateStore, type ThrottleRecord, type UserRecord } from './state.js';

export type Purpose = 'enroll' | 'unlock' | 'change_password' | 'set_pin' | 'reset';
export type Scope = 'home' | 'sign' | 'seal';
const ALL_SCOPES: Scope[] = ['home', 'sign', 'seal'];

interface Challenge {
  uid: number;
  purpose: Purpose;
  protector: ProtectorKind | null;
  expiresAt: number;
  newPasswordKdf: KdfParams | null;
  newPinKdf: KdfParams | null;
}

interface Domain {
  umk: Buffer;
  storeId: Buffer;
  roots: Map<number, Buffer>;
  sealKey: Buffer | null;
  signKey: KeyObject | null;
}

interface Session {
  uid: number;
  sid: string;
  nonce: string;
  scopes: Scope[];
  expiresAt: number;
  locked: boolean;
}

interface TokenClaims {
  uid: number;
  sid: string;
  nonce: string;
  scopes: Scope[];
  expiresAt: number;
}

const locked = () => new ProtocolError('keystore_locked', 'the keystore domain of this user is locked');
const badToken = () => new ProtocolError('unauthorized', 'invalid or expired session token');

/** The keystore: challenges, protectors, throttling, unlocked domains, grants and sessions. */
export class Keystore {
  private keypair!: { publicKey: Uint8Array; privateKey: Uint8Array };
  /** Per-start HMAC key of session tokens: a restart invalidates every token. */
  private readonly bootKey = randomBytes(32);
  private readonly challenges = new Map<string, Challenge>();
  private readonly grants = new Map<string, { uid: number; expiresAt: number; timer: NodeJS.Timeout }>();
  private readonly domains = new Map<number, Domain>();
  private readonly sessions = new Map<string, Session>();
  private readonly throttles = new Map<number, ThrottleRecord>();
  private readonly uidLocks = new Map<number, Promise<unknown>>();

  constructor(
    private readonly cfg: KeystoredConfig,
    private readonly state: StateStore,
    private readonly pepper: Buffer,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async init(): Promise<void> {
    await sodium.ready;
    this.keypair = sodium.crypto_box_keypair();
  }

  /** Wipe everything held in memory (shutdown). */
  shutdown(): void {
    for (const uid of [...this.domains.keys()]) this.wipeDomain(uid);
    for (const g of this.grants.values()) clearTimeout(g.timer);
    this.grants.clear();
    this.sessions.clear();
    this.challenges.clear();
    this.pepper.fill(0);
    this.bootKey.fill(0);
    this.keypair.privateKey.fill(0);
  }

  // ---------- helpers ----------

  /** Serialize everything that reads-modifies-writes one uid's files. */
  private async withUid<T>(uid: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.uidLocks.get(uid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.uidLocks.set(uid, tail);
    try {
      return await run;
    } finally {
      if (this.uidLocks.get(uid) === tail) this.uidLocks.delete(uid);
    }
  }

  private async record(uid: number): Promise<UserRecord | null> {
    try {
      return await this.state.readUser(uid);
    } catch (e) {
      if (e instanceof CorruptRecordError) {
        this.log.error('corrupt keystore record', { uid, error: e.message });
        throw new ProtocolError('integrity', 'the keystore record of this user is damaged');
      }
      throw e;
    }
  }

  private async mustRecord(uid: number): Promise<UserRecord> {
    const rec = await this.record(uid);
    if (!rec) throw new ProtocolError('not_found', 'no keystore record for this uid');
    return rec;
  }

  private freshKdf(kind: 'password' | 'pin'): KdfParams {
    const k = kind === 'password' ? this.cfg.password_kdf : this.cfg.pin_kdf;
    return { alg: 'argon2id', salt: randomBytes(16).toString('base64'), memory_kib: k.memory_kib, time_cost: k.time_cost, parallelism: k.parallelism };
  }

  private sweepChallenges(): void {
    const now = this.now();
    for (const [k, c] of this.challenges) if (c.expiresAt <= now) this.challenges.delete(k);
  }

  // ---------- challenges and sealed secrets ----------

  async getChallenge(uid: number, purpose: Purpose, protector: ProtectorKind | undefined) {
    this.sweepChallenges();
    if (this.challenges.size >= this.cfg.max_challenges) throw new ProtocolError('busy', 'too many outstanding challenges', { retry_after_ms: 1000 });
    let perUid = 0;
    for (const c of this.challenges.values()) if (c.uid === uid) perUid++;
    if (perUid >= this.cfg.max_challenges_per_uid) throw new ProtocolError('busy', 'too many outstanding challenges for this uid', { retry_after_ms: 1000 });
    const rec = await this.record(uid);
    let kdf: KdfParams | null = null;
    let newPasswordKdf: KdfParams | null = null;
    let newPinKdf: KdfParams | null = null;
    let prot: ProtectorKind | null = null;
    const need = (kind: ProtectorKind): ProtectorRecord => {
      if (!rec) throw new ProtocolError('not_found', 'no keystore record for this uid');
      const p = rec.protectors.find((x) => x.kind === kind);
      if (!p) throw new ProtocolError('not_found', `no ${kind} protector for this uid`);
      return p;
    };
    switch (purpose) {
      case 'enroll':
        if (rec) throw new ProtocolError('exists', 'a keystore record for this uid exists');
        newPasswordKdf = this.freshKdf('password');
        newPinKdf = this.freshKdf('pin');
        break;
      case 'unlock':
        if (!protector) throw new ProtocolError('bad_request', 'unlock challenges name a protector', { field: 'protector' });
        kdf = need(protector).kdf;
        prot = protector;
        break;
      case 'change_password':
        kdf = need('password').kdf;
        prot = 'password';
        newPasswordKdf = this.freshKdf('password');
        break;
      case 'set_pin':
        kdf = need('password').kdf;
        prot = 'password';
        newPinKdf = this.freshKdf('pin');
        break;
      case 'reset':
        need('recovery');
        prot = 'recovery';
        newPasswordKdf = this.freshKdf('password');
        break;
    }
    const challenge = randomBytes(32);
    this.challenges.set(challenge.toString('hex'), {
      uid,
      purpose,
      protector: prot,
      expiresAt: this.now() + this.cfg.challenge_ttl_ms,
      newPasswordKdf,
      newPinKdf,
    });
    return {
      type: 'challenge',
      challenge: challenge.toString('base64'),
      server_public_key: Buffer.from(this.keypair.publicKey).toString('base64'),
      expires_in_ms: this.cfg.challenge_ttl_ms,
      kdf,
      new_password_kdf: newPasswordKdf,
      new_pin_kdf: newPinKdf,
    };
  }

  /**
   * Open the sealed blobs of one request, check they name the same live challenge issued for this
   * uid and purpose, and consume it (single use). Returns the secrets in role order (caller zeroes).
   */
  private takeSealed(uid: number, purpose: Purpose, blobs: Array<{ sealed: string; role: Role }>): { challenge: Challenge; secrets: Buffer[] } {
    const secrets: Buffer[] = [];
    let key: string | null = null;
    const fail = (msg: string): never => {
      for (const s of secrets) s.fill(0);
      throw new ProtocolError('auth_failed', msg);
    };
    for (const { sealed, role } of blobs) {
      const ct = Buffer.from(sealed, 'base64');
      if (ct.length !== SEALED_LEN) fail('malformed sealed secret');
      let plain: Buffer;
      try {
        plain = Buffer.from(sodium.crypto_box_seal_open(ct, this.keypair.publicKey, this.keypair.privateKey));
      } catch {
        return fail('sealed secret does not open (wrong server key: restarted keystored?)');
      }
      const p = decodeSealedPlain(plain);
      if (!p || p.role !== role) {
        plain.fill(0);
        return fail('sealed secret has the wrong format or role');
      }
      const k = p.challenge.toString('hex');
      secrets.push(Buffer.from(p.secret));
      plain.fill(0);
      if (key !== null && key !== k) fail('sealed secrets name different challenges');
      key = k;
    }
    const c = key === null ? undefined : this.challenges.get(key);
    if (!c || c.expiresAt <= this.now() || c.uid !== uid || c.purpose !== purpose) {
      for (const s of secrets) s.fill(0);
      throw new ProtocolError('invalid_state', 'challenge unknown, expired, already used or issued for another operation');
    }
    this.challenges.delete(key!);
    return { challenge: c, secrets };
  }

  // ---------- throttling ----------

  private async throttle(uid: number): Promise<ThrottleRecord> {
    let t = this.throttles.get(uid);
    if (!t) {
      t = await this.state.readThrottle(uid);
      this.throttles.set(uid, t);
    }
    return t;
  }

  private async checkThrottle(uid: number, kind: ProtectorKind): Promise<void> {
    const t = await this.throttle(uid);
    const th = this.cfg.throttle;
    if (kind === 'pin' && t.pin_disabled) {
      throw new ProtocolError('rate_limited', `PIN disabled after ${th.pin_max_failures} failures: unlock with the password`);
    }
    if (t.failures >= th.free_failures) {
      const exp = Math.min(t.failures - th.free_failures, 30);
      const delay = Math.min(th.base_delay_ms * 2 ** exp, th.max_delay_ms);
      const wait = t.last_failure_ms + delay - this.now();
      if (wait > 0) throw new ProtocolError('rate_limited', 'too many failed attempts', { retry_after_ms: Math.ceil(wait) });
    }
  }

  private async recordFailure(uid: number, kind: ProtectorKind): Promise<void> {
    const t = { ...(await this.throttle(uid)) };
    t.failures++;
    t.last_failure_ms = this.now();
    if (kind === 'pin') {
      t.pin_failures++;
      if (t.pin_failures >= this.cfg.throttle.pin_max_failures) t.pin_disabled = true;
    }
    this.throttles.set(uid, t);
    await this.state.writeThrottle(uid, t);
    this.log.warn('unlock failed', { uid, protector: kind, failures: t.failures, pin_disabled: t.pin_disabled });
  }

  private async recordSuccess(uid: number, kind: ProtectorKind): Promise<void> {
    const t = await this.throttle(uid);
    const next: ThrottleRecord =
      kind === 'pin'
        ? { ...t, failures: 0, pin_failures: 0 }
        : { v: 1, failures: 0, last_failure_ms: t.last_failure_ms, pin_failures: 0, pin_disabled: false };
    if (next.failures === t.failures && next.pin_failures === t.pin_failures && next.pin_disabled === t.pin_disabled) return;
    this.throttles.set(uid, next);
    await this.state.writeThrottle(uid, next);
  }

  // ---------- protectors ----------

  private makeProtector(rec: Pick<UserRecord, 'uid' | 'store_id'>, kind: ProtectorKind, kdf: KdfParams | null, secret: Buffer, umk: Buffer): ProtectorRecord {
    const id = randomBytes(PROTECTOR_ID_LEN);
    const aad = wrapAad(rec.uid, rec.store_id, kind, id.toString('hex'), kdf);
    const kek = deriveKek(secret, this.pepper, id, aad);
    try {
      const { nonce, wrapped } = wrapUmk(kek, umk, aad);
      return { kind, id: id.toString('hex'), kdf, nonce: nonce.toString('hex'), wrapped: wrapped.toString('hex'), created_ms: this.now() };
    } finally {
      kek.fill(0);
    }
  }

  private openProtector(rec: UserRecord, p: ProtectorRecord, secret: Buffer): Buffer | null {
    const aad = wrapAad(rec.uid, rec.store_id, p.kind, p.id, p.kdf);
    const kek = deriveKek(secret, this.pepper, Buffer.from(p.id, 'hex'), aad);
    try {
      return unwrapUmk(kek, Buffer.from(p.nonce, 'hex'), Buffer.from(p.wrapped, 'hex'), aad);
    } finally {
      kek.fill(0);
    }
  }

  /** Throttle, then try one protector; counts the failure. Returns the UMK (caller zeroes). */
  private async prove(rec: UserRecord, kind: ProtectorKind, secret: Buffer): Promise<Buffer> {
    await this.checkThrottle(rec.uid, kind);
    const p = rec.protectors.find((x) => x.kind === kind);
    const umk = p ? this.openProtector(rec, p, secret) : null;
    if (!umk) {
      await this.recordFailure(rec.uid, kind);
      throw new ProtocolError('auth_failed', 'authentication failed');
    }
    await this.recordSuccess(rec.uid, kind);
    return umk;
  }

  // ---------- operations ----------

  async enroll(uid: number, username: string, sealed: string, sealedPin: string | null) {
    return this.withUid(uid, async () => {
      const blobs = [{ sealed, role: ROLE.newPassword as Role }];
      if (sealedPin) blobs.push({ sealed: sealedPin, role: ROLE.newPin });
      const { challenge, secrets } = this.takeSealed(uid, 'enroll', blobs);
      const umk = randomBytes(UMK_LEN);
      const recovery = randomBytes(32);
      const storeId = randomBytes(STORE_ID_LEN);
      try {
        if (await this.record(uid)) throw new ProtocolError('exists', 'a keystore record for this uid exists');
        const base = { uid, store_id: storeId.toString('hex') };
        const protectors = [this.makeProtector(base, 'password', challenge.newPasswordKdf, secrets[0]!, umk)];
        if (secrets[1]) protectors.push(this.makeProtector(base, 'pin', challenge.newPinKdf, secrets[1], umk));
        protectors.push(this.makeProtector(base, 'recovery', null, recovery, umk));
        const { publicKey } = deriveSigningKey(umk, storeId);
        const rec: UserRecord = {
          v: 1,
          uid,
          username,
          store_id: base.store_id,
          created_ms: this.now(),
          sign_public_key: publicKey.toString('base64'),
          protectors,
          checkpoint: null,
        };
        await this.state.writeUser(rec);
        await this.state.writeThrottle(uid, { v: 1, failures: 0, last_failure_ms: 0, pin_failures: 0, pin_disabled: false });
        this.throttles.delete(uid);
        this.log.info('enrolled', { uid, protectors: protectors.map((p) => p.kind) });
        return { type: 'enroll_result', store_id: base.store_id, recovery_key: formatRecoveryKey(recovery) };
      } finally {
        umk.fill(0);
        recovery.fill(0);
        for (const s of secrets) s.fill(0);
      }
    });
  }

  async unlock(uid: number, protector: ProtectorKind, sealed: string) {
    return this.withUid(uid, async () => {
      const rec = await this.mustRecord(uid);
      const { challenge, secrets } = this.takeSealed(uid, 'unlock', [{ sealed, role: ROLE.current }]);
      try {
        if (challenge.protector !== protector) throw new ProtocolError('invalid_state', 'the challenge was issued for another protector');
        const umk = await this.prove(rec, protector, secrets[0]!);
        const storeId = Buffer.from(rec.store_id, 'hex');
        if (this.domains.has(uid)) umk.fill(0);
        else this.domains.set(uid, { umk, storeId, roots: new Map(), sealKey: null, signKey: null });
        const grant = randomBytes(32).toString('base64url');
        const ttl = this.cfg.grant_ttl_ms;
        const timer = setTimeout(() => {
          if (this.grants.delete(grant)) this.maybeWipe(uid, 'grant expired');
        }, ttl + 10);
        timer.unref();
        this.grants.set(grant, { uid, expiresAt: this.now() + ttl, timer });
        this.log.info('unlocked', { uid, protector });
        return { type: 'unlock_result', grant, expires_in_ms: ttl };
      } finally {
        for (const s of secrets) s.fill(0);
      }
    });
  }

  private mintToken(c: TokenClaims): string {
    const payload = Buffer.from(['1', c.uid, c.sid, c.nonce, c.scopes.join(','), c.expiresAt].join('|'), 'utf8');
    const mac = createHmac('sha256', this.bootKey).update(payload).digest();
    return `${payload.toString('base64url')}.${mac.toString('base64url')}`;
  }

  /** Check the token's MAC and expiry and that its session still exists. */
  private session(token: string): Session {
    const dot = token.indexOf('.');
    const payload = Buffer.from(token.slice(0, dot), 'base64url');
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = createHmac('sha256', this.bootKey).update(payload).digest();
    if (mac.length !== want.length || !timingSafeEqual(mac, want)) throw badToken();
    const parts = payload.toString('utf8').split('|');
    if (parts.length !== 6 || parts[0] !== '1') throw badToken();
    const claims = { uid: Number(parts[1]), sid: parts[2]!, nonce: parts[3]!, scopes: parts[4]!.split(',') as Scope[], expiresAt: Number(parts[5]) };
    if (!(claims.expiresAt > this.now())) throw badToken();
    const s = this.sessions.get(`${claims.uid}:${claims.sid}`);
    if (!s || s.nonce !== claims.nonce) throw badToken();
    // The token's own scopes bound what it may do (a re-open may have changed the session's).
    return { ...s, scopes: claims.scopes.filter((x) => s.scopes.includes(x)), expiresAt: claims.expiresAt };
  }

  /** A session token with the scope, whose user domain is unlocked. */
  private unlocked(token: string, scope: Scope): { s: Session; d: Domain } {
    const s = this.session(token);
    if (!s.scopes.includes(scope)) throw new ProtocolError('unauthorized', `the session token lacks the ${scope} scope`);
    const d = this.domains.get(s.uid);
    if (s.locked || !d) throw locked();
    return { s, d };
  }

  openSession(grant: string, sid: string, scopes: Scope[] | undefined) {
    const g = this.grants.get(grant);
    if (!g || g.expiresAt <= this.now()) throw new ProtocolError('approval_invalid', 'grant unknown, expired or already used');
    this.grants.delete(grant);
    clearTimeout(g.timer);
    const d = this.domains.get(g.uid);
    if (!d) throw locked();
    for (const [k, x] of this.sessions) if (x.expiresAt <= this.now()) this.sessions.delete(k);
    const key = `${g.uid}:${sid}`;
    const want = scopes ?? ALL_SCOPES;
    const expiresAt = this.now() + this.cfg.session_ttl_ms;
    let s = this.sessions.get(key);
    if (s) {
      s.locked = false;
      s.scopes = [...new Set([...s.scopes, ...want])];
      s.expiresAt = expiresAt;
    } else {
      s = { uid: g.uid, sid, nonce: randomBytes(9).toString('base64url'), scopes: [...want], expiresAt, locked: false };
      this.sessions.set(key, s);
    }
    this.log.info('session opened', { uid: g.uid, session_id: sid });
    return {
      type: 'session_opened',
      token: this.mintToken({ uid: s.uid, sid, nonce: s.nonce, scopes: want, expiresAt }),
      expires_at_ms: expiresAt,
      uid: s.uid,
      store_id: d.storeId.toString('hex'),
      scopes: want,
    };
  }

  async sessionInfo(token: string) {
    const s = this.session(token);
    const d = this.domains.get(s.uid);
    const storeId = d ? d.storeId.toString('hex') : (await this.mustRecord(s.uid)).store_id;
    return { type: 'session_info_result', uid: s.uid, session_id: s.sid, store_id: storeId, scopes: s.scopes, expires_at_ms: s.expiresAt, locked: s.locked || !d };
  }

  closeSession(token: string) {
    const s = this.session(token);
    this.sessions.delete(`${s.uid}:${s.sid}`);
    this.log.info('session closed', { uid: s.uid, session_id: s.sid });
    this.maybeWipe(s.uid, 'last session closed');
    return { type: 'ok' };
  }

  lockSession(token: string) {
    const s = this.session(token);
    const live = this.sessions.get(`${s.uid}:${s.sid}`);
    if (live) live.locked = true;
    this.maybeWipe(s.uid, 'last session locked');
    return { type: 'ok' };
  }

  lockUser(uid: number) {
    for (const s of this.sessions.values()) if (s.uid === uid) s.locked = true;
    for (const [k, g] of this.grants) {
      if (g.uid === uid) {
        clearTimeout(g.timer);
        this.grants.delete(k);
      }
    }
    this.wipeDomain(uid);
    this.log.info('user locked', { uid });
    return { type: 'ok' };
  }

  private maybeWipe(uid: number, why: string): void {
    for (const s of this.sessions.values()) if (s.uid === uid && !s.locked && s.expiresAt > this.now()) return;
    for (const g of this.grants.values()) if (g.uid === uid && g.expiresAt > this.now()) return;
    if (this.wipeDomain(uid)) this.log.info('keys wiped', { uid, reason: why });
  }

  private wipeDomain(uid: number): boolean {
    const d = this.domains.get(uid);
    if (!d) return false;
    d.umk.fill(0);
    for (const r of d.roots.values()) r.fill(0);
    d.roots.clear();
    d.sealKey?.fill(0);
    d.sealKey = null;
    d.signKey = null;
    this.domains.delete(uid);
    return true;
  }

  fileKey(token: string, fileIdHex: string, keyGen: number) {
    const { d } = this.unlocked(token, 'home');
    let root = d.roots.get(keyGen);
    if (!root) {
      if (d.roots.size >= 64) {
        for (const r of d.roots.values()) r.fill(0);
        d.roots.clear();
      }
      root = deriveContentRoot(d.umk, d.storeId, keyGen);
      d.roots.set(keyGen, root);
    }
    const key = deriveFileKey(root, Buffer.from(fileIdHex, 'hex'));
    try {
      return { type: 'key', key: key.toString('base64') };
    } finally {
      key.fill(0);
    }
  }

  indexKey(token: string) {
    const { d } = this.unlocked(token, 'home');
    const key = deriveIndexKey(d.umk, d.storeId);
    try {
      return { type: 'key', key: key.toString('base64') };
    } finally {
      key.fill(0);
    }
  }

  async checkpoint(token: string, epoch: number, hashHex: string) {
    const { s } = this.unlocked(token, 'home');
    return this.withUid(s.uid, async () => {
      const rec = await this.mustRecord(s.uid);
      if (rec.checkpoint && epoch < rec.checkpoint.epoch) {
        this.log.warn('checkpoint rollback refused', { uid: s.uid, epoch, recorded: rec.checkpoint.epoch });
        throw new ProtocolError('integrity', `epoch ${epoch} is below the recorded checkpoint ${rec.checkpoint.epoch}`);
      }
      if (rec.checkpoint?.epoch === epoch && rec.checkpoint.index_hash === hashHex) return { type: 'ok' };
      await this.state.writeUser({ ...rec, checkpoint: { epoch, index_hash: hashHex } });
      return { type: 'ok' };
    });
  }

  async lastCheckpoint(token: string) {
    const { s } = this.unlocked(token, 'home');
    const rec = await this.mustRecord(s.uid);
    return { type: 'checkpoint_result', epoch: rec.checkpoint?.epoch ?? null, index_hash: rec.checkpoint?.index_hash ?? null };
  }

  sign(token: string, data: Buffer) {
    const { d } = this.unlocked(token, 'sign');
    const k = deriveSigningKey(d.umk, d.storeId);
    return { type: 'signature', signature: signData(k.privateKey, data).toString('base64'), public_key: k.publicKey.toString('base64') };
  }

  async verify(uid: number, data: Buffer, signature: Buffer) {
    const rec = await this.mustRecord(uid);
    return { type: 'verify_result', valid: verifyData(Buffer.from(rec.sign_public_key, 'base64'), data, signature) };
  }

  seal(token: string, data: Buffer) {
    const { s, d } = this.unlocked(token, 'seal');
    if (data.length > 4096) throw new ProtocolError('bad_request', 'at most 4 KiB may be sealed', { field: 'data' });
    d.sealKey ??= deriveSealKey(d.umk, d.storeId);
    return { type: 'sealed', blob: sealBlob(d.sealKey, s.uid, d.storeId, data).toString('base64') };
  }

  unseal(token: string, blob: Buffer) {
    const { s, d } = this.unlocked(token, 'seal');
    d.sealKey ??= deriveSealKey(d.umk, d.storeId);
    const out = unsealBlob(d.sealKey, s.uid, d.storeId, blob);
    if (!out) throw new ProtocolError('integrity', 'the blob was not sealed for this user or was modified');
    try {
      return { type: 'unsealed', data: out.toString('base64') };
    } finally {
      out.fill(0);
    }
  }

  /** Replace (or add) one protector kind in a record. */
  private withProtector(rec: UserRecord, p: ProtectorRecord | null, kind: ProtectorKind): UserRecord {
    const rest = rec.protectors.filter((x) => x.kind !== kind);
    return { ...rec, protectors: p ? [...rest, p] : rest };
  }

  async rewrap(uid: number, oldSealed: string, newSealed: string) {
    return this.withUid(uid, async () => {
      const rec = await this.mustRecord(uid);
      const { challenge, secrets } = this.takeSealed(uid, 'change_password', [
        { sealed: oldSealed, role: ROLE.current },
        { sealed: newSealed, role: ROLE.newPassword },
      ]);
      try {
        const umk = await this.prove(rec, 'password', secrets[0]!);
        try {
          const p = this.makeProtector(rec, 'password', challenge.newPasswordKdf, secrets[1]!, umk);
          await this.state.writeUser(this.withProtector(rec, p, 'password'));
        } finally {
          umk.fill(0);
        }
        this.log.info('password protector rewrapped', { uid });
        return { type: 'ok' };
      } finally {
        for (const s of secrets) s.fill(0);
      }
    });
  }

  async setPin(uid: number, sealed: string, pinSealed: string | null) {
    return this.withUid(uid, async () => {
      const rec = await this.mustRecord(uid);
      const blobs = [{ sealed, role: ROLE.current as Role }];
      if (pinSealed) blobs.push({ sealed: pinSealed, role: ROLE.newPin });
      const { challenge, secrets } = this.takeSealed(uid, 'set_pin', blobs);
      try {
        const umk = await this.prove(rec, 'password', secrets[0]!);
        try {
          const p = secrets[1] ? this.makeProtector(rec, 'pin', challenge.newPinKdf, secrets[1], umk) : null;
          await this.state.writeUser(this.withProtector(rec, p, 'pin'));
        } finally {
          umk.fill(0);
        }
        this.log.info(pinSealed ? 'pin protector set' : 'pin protector removed', { uid });
        return { type: 'ok' };
      } finally {
        for (const s of secrets) s.fill(0);
      }
    });
  }

  async resetWithRecovery(uid: number, recoverySealed: string, newSealed: string) {
    return this.withUid(uid, async () => {
      const rec = await this.mustRecord(uid);
      const { challenge, secrets } = this.takeSealed(uid, 'reset', [
        { sealed: recoverySealed, role: ROLE.current },
        { sealed: newSealed, role: ROLE.newPassword },
      ]);
      try {
        const umk = await this.prove(rec, 'recovery', secrets[0]!);
        try {
          const p = this.makeProtector(rec, 'password', challenge.newPasswordKdf, secrets[1]!, umk);
          await this.state.writeUser(this.withProtector(this.withProtector(rec, p, 'password'), null, 'pin'));
        } finally {
          umk.fill(0);
        }
        this.log.info('password reset with the recovery key (PIN removed)', { uid });
        return { type: 'ok' };
      } finally {
        for (const s of secrets) s.fill(0);
      }
    });
  }

  async destroy(uid: number) {
    return this.withUid(uid, async () => {
      this.lockUser(uid);
      for (const [k, s] of this.sessions) if (s.uid === uid) this.sessions.delete(k);
      for (const [k, c] of this.challenges) if (c.uid === uid) this.challenges.delete(k);
      this.throttles.delete(uid);
      const existed = await this.state.destroyUser(uid);
      this.log.info('record destroyed', { uid, existed });
      return { type: 'ok' };
    });
  }

  async status(uid: number) {
    const rec = await this.record(uid);
    let open = 0;
    for (const s of this.sessions.values()) if (s.uid === uid && s.expiresAt > this.now()) open++;
    return {
      type: 'status_result',
      status: {
        uid,
        exists: rec !== null,
        unlocked: this.domains.has(uid),
        protectors: rec ? rec.protectors.map((p) => p.kind) : [],
        open_sessions: open,
      },
    };
  }
}
