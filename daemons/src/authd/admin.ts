import { ProtocolError } from '@redbear/protocol';
import { addUser, deleteUser, getUser, humanUsers, lockUser, setPasswordHash, unlockUser } from '../lib/accounts/index.js';
import type { Logger } from '../runtime/index.js';
import { accountsConfig, toProtocolError } from './account-errors.js';
import type { Authenticator } from './authenticator.js';
import { KeyedMutex } from './clock.js';
import type { AuthdConfig } from './config.js';
import type { Hasher } from './hashing.js';
import { isUnavailable, type KeystorePort } from './keystore.js';
import { checkPasswordPolicy, type Strength } from './password-policy.js';
import type { PinStore } from './pins.js';

export interface AdminDeps {
  root: string;
  cfg: AuthdConfig;
  hasher: Hasher;
  pins: PinStore;
  keystore: KeystorePort;
  auth: Authenticator;
  log: Logger;
  /** Called after every successful account change (emits users_changed). */
  changed: () => void;
}

export interface NewAccount {
  username: string;
  full_name: string;
  password: Buffer;
  admin: boolean;
  pin?: Buffer | undefined;
  /** OOBE: only while no human user exists. */
  firstBoot: boolean;
}

/**
 * Account writes. Every write in authd runs under one in-process queue (on top of the account
 * library's shadow-utils locks), so OOBE's "no human user yet" check and the add are atomic with
 * respect to every other authd request.
 */
export class AccountAdmin {
  private readonly queue = new KeyedMutex();

  constructor(private readonly d: AdminDeps) {}

  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run('accounts', async () => {
      try {
        return await fn();
      } catch (e) {
        throw toProtocolError(e);
      }
    });
  }

  async create(req: NewAccount): Promise<{ uid: number; username: string; recovery_key: string | null; strength: Strength }> {
    const strength = checkPasswordPolicy(req.password.toString('utf8'), [req.username, req.full_name], this.d.cfg.password_policy);
    if (req.firstBoot && !(await this.isFirstBoot())) throw new ProtocolError('not_first_boot', 'a user already exists');
    const hash = await this.d.hasher.hash(req.password).catch((e: unknown) => {
      throw toProtocolError(e);
    });
    const added = await this.write(async () => {
      if (req.firstBoot && !(await this.isFirstBoot())) throw new ProtocolError('not_first_boot', 'a user already exists');
      return addUser(this.d.root, { username: req.username, fullName: req.full_name, hash, admin: req.admin || req.firstBoot }, accountsConfig(this.d.cfg));
    });
    this.d.log.info('user created', { user: added.username, uid: added.uid, admin: req.admin || req.firstBoot, first_boot: req.firstBoot });
    if (req.pin) await this.d.pins.set(added.username, added.uid, req.pin);
    let recovery: string | null = null;
    try {
      recovery = (await this.d.keystore.enroll(added.uid, added.username, req.password, req.pin)).recoveryKey;
      this.d.log.info('keystore record created', { user: added.username, uid: added.uid });
    } catch (e) {
      this.d.log.warn(isUnavailable(e) ? 'keystored unreachable: no keystore record yet (created at first login)' : 'keystore enrol failed', {
        user: added.username,
        code: e instanceof ProtocolError ? e.code : 'internal',
      });
    }
    this.d.changed();
    return { uid: added.uid, username: added.username, recovery_key: recovery, strength };
  }

  /** With `oldPassword` (verified, throttled; an expired password may be changed); without it only for the administrative tool. */
  async changePassword(username: string, oldPassword: Buffer | null, newPassword: Buffer, client: string): Promise<void> {
    let uid: number;
    if (oldPassword) {
      const u = await this.d.auth.checkSecret(username, oldPassword, 'password', client, ['password_expired', 'password_change_required']);
      uid = u.passwd.uid;
    } else {
      const u = await getUser(this.d.root, username).catch((e: unknown) => {
        throw toProtocolError(e);
      });
      if (!u) throw new ProtocolError('not_found', 'no such user');
      uid = u.passwd.uid;
    }
    if (oldPassword && oldPassword.equals(newPassword)) throw new ProtocolError('weak_password', 'the new password must differ from the old one', { field: '/new_password' });
    checkPasswordPolicy(newPassword.toString('utf8'), [username], this.d.cfg.password_policy);
    const hash = await this.d.hasher.hash(newPassword).catch((e: unknown) => {
      throw toProtocolError(e);
    });
    await this.write(() => setPasswordHash(this.d.root, username, hash, accountsConfig(this.d.cfg)));
    this.d.log.info('password changed', { user: username, uid, by: oldPassword ? 'owner' : 'administrator' });
    if (oldPassword) {
      await this.d.keystore.changePassword(uid, oldPassword, newPassword).catch((e: unknown) => {
        this.d.log.warn('keystore password protector not updated', { user: username, code: e instanceof ProtocolError ? e.code : 'internal' });
      });
    } else {
      this.d.log.warn('administrative password reset: the keystore record still opens with the old password or the recovery key', { user: username });
    }
    this.d.changed();
  }

  async delete(username: string, removeHome: boolean): Promise<void> {
    const r = await this.write(() => deleteUser(this.d.root, username, { removeHome }, accountsConfig(this.d.cfg)));
    await this.d.pins.remove(username);
    await this.d.keystore.destroy(r.uid).catch((e: unknown) => {
      this.d.log.warn('keystore record not destroyed', { user: username, uid: r.uid, code: e instanceof ProtocolError ? e.code : 'internal' });
    });
    this.d.log.info('user deleted', { user: username, uid: r.uid, removed_home: r.removedHome });
    this.d.changed();
  }

  async lock(username: string, locked: boolean): Promise<void> {
    await this.write(() => (locked ? lockUser : unlockUser)(this.d.root, username, accountsConfig(this.d.cfg)));
    this.d.log.info(locked ? 'user locked' : 'user unlocked', { user: username });
    this.d.changed();
  }

  async setPin(username: string, password: Buffer, pin: Buffer | null, client: string): Promise<void> {
    if (!this.d.cfg.pin.enabled) throw new ProtocolError('invalid_state', 'PINs are disabled by configuration');
    const u = await this.d.auth.checkSecret(username, password, 'password', client, []);
    if (pin) await this.d.pins.set(u.passwd.name, u.passwd.uid, pin);
    else await this.d.pins.remove(u.passwd.name);
    await this.d.keystore.setPin(u.passwd.uid, password, pin).catch((e: unknown) => {
      this.d.log.warn('keystore PIN protector not updated', { user: username, code: e instanceof ProtocolError ? e.code : 'internal' });
    });
    this.d.log.info(pin ? 'PIN set' : 'PIN removed', { user: username });
    this.d.changed();
  }

  async isFirstBoot(): Promise<boolean> {
    try {
      return (await humanUsers(this.d.root)).length === 0;
    } catch (e) {
      throw toProtocolError(e);
    }
  }
}
