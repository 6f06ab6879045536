import argon2 from 'argon2';
import sodium from 'libsodium-wrappers-sumo';
import { ProtocolError } from '@redbear/protocol';
import { ProtocolClient } from '@redbear/protocol/node';
import { encodeSealedPlain, parseRecoveryKey, ROLE, SECRET_LEN, type Role } from './wire.js';

export type ProtectorKind = 'password' | 'pin' | 'recovery';
export type KeystoreScope = 'home' | 'sign' | 'seal';

export interface KdfParams {
  alg: 'argon2id';
  salt: string;
  memory_kib: number;
  time_cost: number;
  parallelism: number;
}

interface ChallengeReply {
  challenge: string;
  server_public_key: string;
  expires_in_ms: number;
  kdf: KdfParams | null;
  new_password_kdf: KdfParams | null;
  new_pin_kdf: KdfParams | null;
}

export interface KeystoreStatus {
  exists: boolean;
  unlocked: boolean;
  protectors: string[];
  open_sessions: number;
}

export interface OpenedSession {
  token: string;
  expiresAtMs: number;
  uid: number;
  storeId: string;
  scopes: KeystoreScope[];
}

export interface SessionInfo {
  uid: number;
  sessionId: string;
  storeId: string;
  scopes: KeystoreScope[];
  expiresAtMs: number;
  locked: boolean;
}

export interface KeystoreClientOptions {
  socketPath: string;
  /** Per request; Argon2id runs before the request and is not counted. */
  timeoutMs?: number;
  clientName?: string;
}

/**
 * Argon2id raw hash in libuv's thread pool (the argon2 package never runs it on the event loop).
 * The password Buffer is read, not zeroed; the result is owned by the caller.
 */
export async function deriveUnlockSecret(secret: Buffer, kdf: KdfParams): Promise<Buffer> {
  if (kdf.alg !== 'argon2id') throw new ProtocolError('unsupported_hash', `unsupported KDF ${String(kdf.alg)}`);
  const salt = Buffer.from(kdf.salt, 'base64');
  const out = await argon2.hash(secret, {
    type: argon2.argon2id,
    raw: true,
    salt,
    memoryCost: kdf.memory_kib,
    timeCost: kdf.time_cost,
    parallelism: kdf.parallelism,
    hashLength: SECRET_LEN,
  });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The caller side of redbear-keystored (authd, sessiond, nx-home). One connection, opened on
 * first use and re-opened after it drops. Every failure is a ProtocolError. Passwords and PINs
 * never cross the socket: only their Argon2id output, sealed to keystored's key and bound to a
 * single-use challenge.
 */
export class KeystoreClient {
  private conn: Promise<ProtocolClient> | null = null;
  private closed = false;

  constructor(private readonly opts: KeystoreClientOptions) {}

  private connection(): Promise<ProtocolClient> {
    if (this.closed) return Promise.reject(new ProtocolError('unavailable', 'keystore client is closed'));
    if (!this.conn) {
      const p = ProtocolClient.connect({
        iface: 'keystore',
        socketPath: this.opts.socketPath,
        clientName: this.opts.clientName ?? 'keystore-client',
        timeoutMs: this.opts.timeoutMs ?? 10_000,
      });
      this.conn = p;
      p.then(
        (c) => c.once('close', () => {
          if (this.conn === p) this.conn = null;
        }),
        () => {
          if (this.conn === p) this.conn = null;
        },
      );
    }
    return this.conn;
  }

  /** Send one request; a connection lost before sending is retried once. */
  async request<T = Record<string, unknown>>(msg: Record<string, unknown> & { type: string }): Promise<T> {
    let c = await this.connection();
    if (c.isClosed) {
      this.conn = null;
      c = await this.connection();
    }
    return (await c.request(msg)) as unknown as T;
  }

  private async challenge(uid: number, purpose: string, protector?: ProtectorKind): Promise<ChallengeReply> {
    return this.request<ChallengeReply>({ type: 'get_challenge', uid, purpose, ...(protector ? { protector } : {}) });
  }

  /** Turn a user secret into the 32-byte unlock secret for a protector. */
  private async unlockSecret(kind: ProtectorKind, secret: Buffer, kdf: KdfParams | null): Promise<Buffer> {
    if (kind === 'recovery') {
      const key = parseRecoveryKey(secret);
      if (!key) throw new ProtocolError('auth_failed', 'the recovery key is malformed or mistyped (checksum mismatch)');
      return key;
    }
    if (!kdf) throw new ProtocolError('internal', 'keystored sent no KDF parameters');
    return deriveUnlockSecret(secret, kdf);
  }

  private async seal(ch: ChallengeReply, role: Role, secret: Buffer): Promise<string> {
    await sodium.ready;
    const challenge = Buffer.from(ch.challenge, 'base64');
    const pk = Buffer.from(ch.server_public_key, 'base64');
    const plain = encodeSealedPlain(role, challenge, secret);
    try {
      return Buffer.from(sodium.crypto_box_seal(plain, pk)).toString('base64');
    } finally {
      plain.fill(0);
      secret.fill(0);
    }
  }

  /** Create the user's record; password (and optional pin) Buffers are read, not zeroed. */
  async enroll(uid: number, username: string, password: Buffer, pin?: Buffer | null): Promise<{ recoveryKey: string; storeId: string }> {
    const ch = await this.challenge(uid, 'enroll');
    if (!ch.new_password_kdf || !ch.new_pin_kdf) throw new ProtocolError('internal', 'keystored sent no KDF parameters');
    const sealed = await this.seal(ch, ROLE.newPassword, await deriveUnlockSecret(password, ch.new_password_kdf));
    const sealedPin = pin ? await this.seal(ch, ROLE.newPin, await deriveUnlockSecret(pin, ch.new_pin_kdf)) : null;
    const r = await this.request<{ store_id: string; recovery_key: string }>({ type: 'enroll', uid, username, sealed, sealed_pin: sealedPin });
    return { recoveryKey: r.recovery_key, storeId: r.store_id };
  }

  /** Derive the unlock secret (Argon2id off the event loop), seal it bound to a fresh challenge, unlock. */
  async unlock(uid: number, secret: Buffer, kind: ProtectorKind): Promise<{ grant: string }> {
    const ch = await this.challenge(uid, 'unlock', kind);
    const sealed = await this.seal(ch, ROLE.current, await this.unlockSecret(kind, secret, ch.kdf));
    const r = await this.request<{ grant: string }>({ type: 'unlock', uid, protector: kind, sealed });
    return { grant: r.grant };
  }

  async changePassword(uid: number, oldPassword: Buffer, newPassword: Buffer): Promise<void> {
    const ch = await this.challenge(uid, 'change_password', 'password');
    if (!ch.new_password_kdf) throw new ProtocolError('internal', 'keystored sent no KDF parameters');
    const oldSealed = await this.seal(ch, ROLE.current, await this.unlockSecret('password', oldPassword, ch.kdf));
    const newSealed = await this.seal(ch, ROLE.newPassword, await deriveUnlockSecret(newPassword, ch.new_password_kdf));
    await this.request({ type: 'rewrap', uid, old_sealed: oldSealed, new_sealed: newSealed });
  }

  async resetWithRecovery(uid: number, recoveryKey: Buffer, newPassword: Buffer): Promise<void> {
    const ch = await this.challenge(uid, 'reset', 'recovery');
    if (!ch.new_password_kdf) throw new ProtocolError('internal', 'keystored sent no KDF parameters');
    const recoverySealed = await this.seal(ch, ROLE.current, await this.unlockSecret('recovery', recoveryKey, null));
    const newSealed = await this.seal(ch, ROLE.newPassword, await deriveUnlockSecret(newPassword, ch.new_password_kdf));
    await this.request({ type: 'reset_with_recovery', uid, recovery_sealed: recoverySealed, new_sealed: newSealed });
  }

  /** Prove the password, then set (pin) or remove (null) the PIN protector. */
  async setPin(uid: number, password: Buffer, pin: Buffer | null): Promise<void> {
    const ch = await this.challenge(uid, 'set_pin', 'password');
    if (!ch.new_pin_kdf) throw new ProtocolError('internal', 'keystored sent no KDF parameters');
    const sealed = await this.seal(ch, ROLE.current, await this.unlockSecret('password', password, ch.kdf));
    const pinSealed = pin ? await this.seal(ch, ROLE.newPin, await deriveUnlockSecret(pin, ch.new_pin_kdf)) : null;
    await this.request({ type: 'set_pin', uid, sealed, pin_sealed: pinSealed });
  }

  async destroy(uid: number): Promise<void> {
    await this.request({ type: 'destroy', uid });
  }

  async status(uid: number): Promise<KeystoreStatus> {
    const r = await this.request<{ status: KeystoreStatus & { uid: number } }>({ type: 'status', uid });
    const { exists, unlocked, protectors, open_sessions } = r.status;
    return { exists, unlocked, protectors, open_sessions };
  }

  async openSession(grant: string, sessionId: string, scopes?: KeystoreScope[]): Promise<OpenedSession> {
    const r = await this.request<{ token: string; expires_at_ms: number; uid: number; store_id: string; scopes: KeystoreScope[] }>({
      type: 'open_session',
      grant,
      session_id: sessionId,
      ...(scopes ? { scopes } : {}),
    });
    return { token: r.token, expiresAtMs: r.expires_at_ms, uid: r.uid, storeId: r.store_id, scopes: r.scopes };
  }

  async sessionInfo(token: string): Promise<SessionInfo> {
    const r = await this.request<{ uid: number; session_id: string; store_id: string; scopes: KeystoreScope[]; expires_at_ms: number; locked: boolean }>({
      type: 'session_info',
      token,
    });
    return { uid: r.uid, sessionId: r.session_id, storeId: r.store_id, scopes: r.scopes, expiresAtMs: r.expires_at_ms, locked: r.locked };
  }

  async closeSession(token: string): Promise<void> {
    await this.request({ type: 'close_session', token });
  }

  async lockSession(token: string): Promise<void> {
    await this.request({ type: 'lock_session', token });
  }

  async lockUser(uid: number): Promise<void> {
    await this.request({ type: 'lock_user', uid });
  }

  async fileKey(token: string, fileId: Buffer, keyGen: number): Promise<Buffer> {
    const r = await this.request<{ key: string }>({ type: 'file_key', token, file_id: fileId.toString('hex'), key_gen: keyGen });
    return Buffer.from(r.key, 'base64');
  }

  async indexKey(token: string): Promise<Buffer> {
    const r = await this.request<{ key: string }>({ type: 'index_key', token });
    return Buffer.from(r.key, 'base64');
  }

  async checkpoint(token: string, epoch: number, indexHash: Buffer): Promise<void> {
    await this.request({ type: 'checkpoint', token, epoch, index_hash: indexHash.toString('hex') });
  }

  async lastCheckpoint(token: string): Promise<{ epoch: number; indexHash: Buffer } | null> {
    const r = await this.request<{ epoch: number | null; index_hash: string | null }>({ type: 'last_checkpoint', token });
    return r.epoch === null || r.index_hash === null ? null : { epoch: r.epoch, indexHash: Buffer.from(r.index_hash, 'hex') };
  }

  async sign(token: string, data: Buffer): Promise<{ signature: Buffer; publicKey: Buffer }> {
    const r = await this.request<{ signature: string; public_key: string }>({ type: 'sign', token, data: data.toString('base64') });
    return { signature: Buffer.from(r.signature, 'base64'), publicKey: Buffer.from(r.public_key, 'base64') };
  }

  async verify(uid: number, data: Buffer, signature: Buffer): Promise<boolean> {
    const r = await this.request<{ valid: boolean }>({ type: 'verify', uid, data: data.toString('base64'), signature: signature.toString('base64') });
    return r.valid;
  }

  async sealData(token: string, data: Buffer): Promise<Buffer> {
    const r = await this.request<{ blob: string }>({ type: 'seal', token, data: data.toString('base64') });
    return Buffer.from(r.blob, 'base64');
  }

  async unsealData(token: string, blob: Buffer): Promise<Buffer> {
    const r = await this.request<{ data: string }>({ type: 'unseal', token, blob: blob.toString('base64') });
    return Buffer.from(r.data, 'base64');
  }

  close(): void {
    this.closed = true;
    const c = this.conn;
    this.conn = null;
    void c?.then((x) => x.close(), () => undefined);
  }
}
