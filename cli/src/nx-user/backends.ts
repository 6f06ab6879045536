import path from 'node:path';
import { INTERFACES, ProtocolError } from '@redbear/protocol';
import { ProtocolClient } from '@redbear/protocol/node';
import { addUser, deleteUser, humanUsers, isLockedHash, lockUser, setPasswordHash, unlockUser } from '@redbear/daemons/lib/accounts';
import { closeCryptPool, hashPassword } from '@redbear/daemons/lib/crypt';

export interface UserRow {
  username: string;
  full_name: string;
  uid: number;
  locked: boolean;
  has_pin?: boolean;
}

/** What nx-user does, whichever way it is done. */
export interface Backend {
  readonly kind: 'authd' | 'files';
  list(): Promise<UserRow[]>;
  add(user: string, fullName: string, admin: boolean, password: Buffer): Promise<{ uid: number; recoveryKey: string | null; warning?: string | undefined }>;
  passwd(user: string, password: Buffer): Promise<void>;
  del(user: string, removeHome: boolean): Promise<void>;
  lock(user: string, locked: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Minimum password length in file mode (authd applies its own configured policy). */
export const OFFLINE_MIN_LENGTH = 8;

export class AuthdBackend implements Backend {
  readonly kind = 'authd';
  private constructor(private readonly c: ProtocolClient) {}

  /** null when authd is not running at that socket. */
  static async connect(socketPath: string): Promise<AuthdBackend | null> {
    try {
      return new AuthdBackend(await ProtocolClient.connect({ iface: 'auth', socketPath, clientName: 'nx-user', timeoutMs: 60_000 }));
    } catch (e) {
      if (e instanceof ProtocolError && (e.code === 'unavailable' || e.code === 'timeout')) return null;
      throw e;
    }
  }

  async list(): Promise<UserRow[]> {
    const r = await this.c.request({ type: 'list_users' });
    return (r.users as Array<UserRow & { has_avatar: boolean }>).map(({ username, full_name, uid, locked, has_pin }) => ({ username, full_name, uid, locked, has_pin }));
  }

  async add(user: string, fullName: string, admin: boolean, password: Buffer) {
    const r = await this.c.request({ type: 'add_user', username: user, full_name: fullName, password: password.toString('utf8'), admin });
    const s = r.strength as { score: number; warning?: string };
    return { uid: r.uid as number, recoveryKey: r.recovery_key as string | null, warning: s.score < 2 ? (s.warning ?? 'weak password') : undefined };
  }

  async passwd(user: string, password: Buffer): Promise<void> {
    await this.c.request({ type: 'change_password', username: user, new_password: password.toString('utf8') });
  }

  async del(user: string, removeHome: boolean): Promise<void> {
    await this.c.request({ type: 'delete_user', username: user, remove_home: removeHome });
  }

  async lock(user: string, locked: boolean): Promise<void> {
    await this.c.request({ type: locked ? 'lock_user' : 'unlock_user', username: user });
  }

  close(): Promise<void> {
    this.c.close();
    return Promise.resolve();
  }
}

/** Direct edits of <root>/etc with the account library (shadow-utils locks, atomic writes). Root only. */
export class FilesBackend implements Backend {
  readonly kind = 'files';
  constructor(private readonly root: string) {}

  async list(): Promise<UserRow[]> {
    return (await humanUsers(this.root)).map((u) => ({
      username: u.passwd.name,
      full_name: u.fullName,
      uid: u.passwd.uid,
      locked: isLockedHash(u.shadow ? u.shadow.hash : u.passwd.password),
    }));
  }

  private async hash(password: Buffer): Promise<string> {
    if ([...password.toString('utf8')].length < OFFLINE_MIN_LENGTH) throw new ProtocolError('weak_password', `the password must have at least ${OFFLINE_MIN_LENGTH} characters`);
    return hashPassword(password, { scheme: 'sha512crypt' });
  }

  async add(user: string, fullName: string, admin: boolean, password: Buffer) {
    const hash = await this.hash(password);
    const r = await addUser(this.root, { username: user, fullName, hash, admin });
    return { uid: r.uid, recoveryKey: null };
  }

  async passwd(user: string, password: Buffer): Promise<void> {
    await setPasswordHash(this.root, user, await this.hash(password));
  }

  async del(user: string, removeHome: boolean): Promise<void> {
    await deleteUser(this.root, user, { removeHome });
  }

  async lock(user: string, locked: boolean): Promise<void> {
    await (locked ? lockUser : unlockUser)(this.root, user);
  }

  async close(): Promise<void> {
    await closeCryptPool();
  }
}

export function defaultSocket(root: string): string {
  return path.join(root, INTERFACES.auth.socket);
}
