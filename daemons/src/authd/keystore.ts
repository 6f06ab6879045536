import { ProtocolError } from '@redbear/protocol';
import { KeystoreClient } from '../lib/keystore-client/index.js';

/**
 * What authd needs from redbear-keystored (spoken over its socket by the keystore-client
 * library). Errors are ProtocolErrors; `unavailable` means keystored is not running.
 */
export interface KeystorePort {
  enroll(uid: number, username: string, password: Buffer, pin?: Buffer): Promise<{ recoveryKey: string; storeId: string }>;
  unlock(uid: number, secret: Buffer, kind: 'password' | 'pin' | 'recovery'): Promise<{ grant: string }>;
  changePassword(uid: number, oldPassword: Buffer, newPassword: Buffer): Promise<void>;
  setPin(uid: number, password: Buffer, pin: Buffer | null): Promise<void>;
  destroy(uid: number): Promise<void>;
  /** Whether a record exists for uid. */
  status(uid: number): Promise<{ enrolled: boolean }>;
  close?(): void;
}

/** No keystore configured (or the client library is not built): every call is `unavailable`. */
export class NoKeystore implements KeystorePort {
  constructor(private readonly why: string) {}
  private fail(): never {
    throw new ProtocolError('unavailable', this.why);
  }
  enroll(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  unlock(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  changePassword(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  setPin(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  destroy(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
  status(): Promise<never> {
    return Promise.resolve().then(() => this.fail());
  }
}

/** The keystore-client library (daemons/src/lib/keystore-client) over keystored's socket. */
export function openKeystore(cfg: { enabled: boolean; socketPath: string; timeoutMs: number }): KeystorePort {
  if (!cfg.enabled) return new NoKeystore('keystore disabled by configuration');
  const client = new KeystoreClient({ socketPath: cfg.socketPath, timeoutMs: cfg.timeoutMs, clientName: 'redbear-authd' });
  return {
    enroll: (uid, username, password, pin) => client.enroll(uid, username, password, pin),
    unlock: (uid, secret, kind) => client.unlock(uid, secret, kind),
    changePassword: (uid, o, n) => client.changePassword(uid, o, n),
    setPin: (uid, p, pin) => client.setPin(uid, p, pin),
    destroy: (uid) => client.destroy(uid),
    status: async (uid) => ({ enrolled: (await client.status(uid)).exists }),
    close: () => client.close(),
  };
}

/** True for "keystored is not there", as opposed to a refusal by keystored. */
export function isUnavailable(e: unknown): boolean {
  return e instanceof ProtocolError && (e.code === 'unavailable' || e.code === 'timeout');
}
