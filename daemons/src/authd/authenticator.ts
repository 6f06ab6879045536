import { performance } from 'node:perf_hooks';
import { ProtocolError } from '@redbear/protocol';
import { accountState, daysSinceEpoch, getUser, readShells, type AccountStateReason, type UserRecord } from '../lib/accounts/index.js';
import { identifyScheme } from '../lib/crypt/index.js';
import type { Logger } from '../runtime/index.js';
import { stateError, toProtocolError } from './account-errors.js';
import type { Approvals, Purpose } from './approvals.js';
import { KeyedMutex, sleep, type Clock } from './clock.js';
import type { AuthdConfig } from './config.js';
import type { Hasher } from './hashing.js';
import { isUnavailable, type KeystorePort } from './keystore.js';
import type { PinStore } from './pins.js';
import type { JsonStateFile } from './state-file.js';
import type { Throttle } from './throttle.js';

export interface AuthenticatorDeps {
  root: string;
  cfg: AuthdConfig;
  hasher: Hasher;
  throttle: Throttle;
  throttleFile: JsonStateFile<unknown>;
  pins: PinStore;
  keystore: KeystorePort;
  approvals: Approvals;
  log: Logger;
  now: Clock;
}

export interface LoginRequest {
  username: string;
  secret: Buffer;
  kind: 'password' | 'pin';
  /** Throttling key of the requesting client (peer uid:pid). */
  client: string;
  vt: number;
  purpose: Purpose;
  session_id?: string | undefined;
}

export interface LoginResult {
  user: UserRecord;
  approval: string;
  expires_in_ms: number;
}

const failed = (): ProtocolError => new ProtocolError('auth_failed', 'authentication failed');

/**
 * The secret check: throttle, verify (a dummy hash for unknown names), account state, keystore
 * unlock, approval. Per-username serialisation makes the tally exact under concurrency; the
 * fixed failure delay is served outside it.
 */
export class Authenticator {
  private readonly perUser = new KeyedMutex();

  constructor(private readonly d: AuthenticatorDeps) {}

  async login(req: LoginRequest): Promise<LoginResult> {
    const user = await this.checkSecret(req.username, req.secret, req.kind, req.client, []);
    if (req.kind === 'password') await this.d.pins.resetFailures(user.passwd.name);
    const grant = await this.unlockKeystore(user, req.secret, req.kind);
    const { approval, expires_in_ms } = this.d.approvals.issue({
      uid: user.passwd.uid,
      username: user.passwd.name,
      vt: req.vt,
      purpose: req.purpose,
      session_id: req.session_id,
      keystore_grant: grant,
    });
    this.d.log.info('authenticated', { user: user.passwd.name, uid: user.passwd.uid, vt: req.vt, purpose: req.purpose, kind: req.kind, keystore: grant !== null });
    return { user, approval, expires_in_ms };
  }

  /**
   * Verify a secret with throttling. Returns the account when the secret is right and the
   * account may log in (`allow` lists state reasons tolerated, e.g. an expired password when
   * changing it). Typed state errors are only revealed to whoever knows the secret.
   */
  async checkSecret(username: string, secret: Buffer, kind: 'password' | 'pin', client: string, allow: AccountStateReason[]): Promise<UserRecord> {
    const started = performance.now();
    let outcome: UserRecord | 'failed' | { limitedFor: number };
    try {
      outcome = await this.perUser.run(username, async () => {
        const wait = this.d.throttle.retryAfter(username, client);
        if (wait > 0) return { limitedFor: wait };
        const user = await getUser(this.d.root, username).catch((e: unknown) => {
          throw toProtocolError(e);
        });
        const ok = user ? await this.verify(user, secret, kind) : await this.d.hasher.verifyDummy(secret);
        if (!ok || !user) {
          const lockout = this.d.throttle.failure(username, client);
          void this.d.throttleFile.save();
          if (lockout > 0) await this.d.throttleFile.flush(); // a lockout is durable before the reply, not after the coalescing interval
          this.d.log.info('authentication failed', { user: printable(username), kind, client, lockout_ms: lockout });
          return 'failed' as const;
        }
        this.d.throttle.success(username);
        void this.d.throttleFile.save();
        return user;
      });
    } catch (e) {
      throw toProtocolError(e);
    }
    if (outcome === 'failed') {
      await sleep(this.d.cfg.throttle.failure_delay_ms - (performance.now() - started));
      throw failed();
    }
    if ('limitedFor' in outcome) {
      // Refusals wait like failures: a client that retries as soon as it is answered (a flood)
      // is then paced to one attempt per failure_delay_ms per connection instead of costing the
      // event loop a refusal as fast as it can send, and lockouts cost no more to probe than guesses.
      await sleep(this.d.cfg.throttle.failure_delay_ms - (performance.now() - started));
      const left = Math.max(1, Math.ceil(outcome.limitedFor - (performance.now() - started)));
      throw new ProtocolError('rate_limited', 'too many failed attempts; wait before trying again', { retry_after_ms: left });
    }
    const shells = await readShells(this.d.root);
    const state = accountState(outcome.passwd, outcome.shadow, { nowDays: daysSinceEpoch(this.d.now()), shells });
    if (!state.ok && !allow.includes(state.reason) && !(state.reason === 'no_password' && this.d.cfg.accounts.allow_empty_password)) {
      this.d.log.info('login refused by account state', { user: outcome.passwd.name, reason: state.reason });
      throw stateError(state.reason);
    }
    return outcome;
  }

  private async verify(user: UserRecord, secret: Buffer, kind: 'password' | 'pin'): Promise<boolean> {
    const name = user.passwd.name;
    if (kind === 'pin') {
      if (!this.d.cfg.pin.enabled) throw new ProtocolError('invalid_state', 'PIN login is disabled');
      const r = await this.d.pins.verify(name, user.passwd.uid, secret);
      if (r === 'exhausted') throw new ProtocolError('invalid_state', 'too many wrong PINs: log in with the password');
      if (r === 'none') return this.d.hasher.verifyDummy(secret);
      return r === 'ok';
    }
    const stored = user.shadow ? user.shadow.hash : user.passwd.password;
    if (stored === '') {
      if (this.d.cfg.accounts.allow_empty_password) return secret.length === 0;
      throw stateError('no_password');
    }
    // Locked (`!hash`): verify what is behind the `!` so that only the owner learns it is locked.
    const hash = stored.replace(/^!+/, '');
    if (hash === '' || hash.startsWith('*') || (!user.shadow && hash === 'x')) return this.d.hasher.verifyDummy(secret);
    identifyScheme(hash); // throws UnsupportedHashError naming the scheme (not counted as an attempt)
    return this.d.hasher.verify(secret, hash);
  }

  private async unlockKeystore(user: UserRecord, secret: Buffer, kind: 'password' | 'pin'): Promise<string | null> {
    const { uid, name } = user.passwd;
    try {
      if (kind === 'password' && !(await this.d.keystore.status(uid)).enrolled) {
        // Account created outside authd: create its record now. Its recovery key is not shown
        // (there is no one to show it to here); `nx-home` can issue a new one.
        await this.d.keystore.enroll(uid, name, secret);
        this.d.log.warn('created a keystore record at first login; its recovery key was not shown', { user: name, uid });
      }
      return (await this.d.keystore.unlock(uid, secret, kind)).grant;
    } catch (e) {
      if (isUnavailable(e)) this.d.log.warn('keystored unreachable: approval carries no keystore grant', { user: name, uid });
      else this.d.log.warn('keystore unlock failed: approval carries no keystore grant', { user: name, uid, code: e instanceof ProtocolError ? e.code : 'internal' });
      return null;
    }
  }
}

/** Usernames come from clients: log them only when they look like names (a password typed into the name field must not be logged). */
export function printable(username: string): string {
  return /^[a-z_][a-z0-9_-]{0,31}[$]?$/.test(username) ? username : '[not a user name]';
}
