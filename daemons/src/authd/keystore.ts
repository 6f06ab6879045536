import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProtocolError } from '@redbear/protocol';
import type { Logger } from '../runtime/index.js';

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

interface ClientModule {
  KeystoreClient: new (opts: { socketPath: string; timeoutMs?: number }) => {
    enroll(uid: number, username: string, password: Buffer, pin?: Buffer): Promise<{ recoveryKey: string; storeId: string }>;
    unlock(uid: number, secret: Buffer, kind: 'password' | 'pin' | 'recovery'): Promise<{ grant: string }>;
    changePassword(uid: number, oldPassword: Buffer, newPassword: Buffer): Promise<unknown>;
    setPin(uid: number, password: Buffer, pin: Buffer | null): Promise<unknown>;
    destroy(uid: number): Promise<unknown>;
    status(uid: number): Promise<unknown>;
    close?(): void;
  };
}

/**
 * The keystore-client library is written alongside authd; it is loaded at run time so authd
 * builds and runs (with `keystore_grant: null`) before it exists. Daemons never import each
 * other: this is a library (daemons/src/lib/keystore-client), not keystored.
 */
export async function openKeystore(cfg: { enabled: boolean; socketPath: string; timeoutMs: number }, log: Logger): Promise<KeystorePort> {
  if (!cfg.enabled) return new NoKeystore('keystore disabled by configuration');
  const url = new URL('../lib/keystore-client/index.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    log.warn('keystore-client library not built; logins get keystore_grant null');
    return new NoKeystore('keystore client not available');
  }
  let mod: ClientModule;
  try {
    mod = (await import(url.href)) as ClientModule;
  } catch (e) {
    log.warn('keystore-client library failed to load', { error: e as Error });
    return new NoKeystore('keystore client not available');
  }
  const client = new mod.KeystoreClient({ socketPath: cfg.socketPath, timeoutMs: cfg.timeoutMs });
  return {
    enroll: (uid, username, password, pin) => client.enroll(uid, username, password, pin),
    unlock: (uid, secret, kind) => client.unlock(uid, secret, kind),
    changePassword: async (uid, o, n) => void (await client.changePassword(uid, o, n)),
    setPin: async (uid, p, pin) => void (await client.setPin(uid, p, pin)),
    destroy: async (uid) => void (await client.destroy(uid)),
    status: async (uid) => {
      const s = (await client.status(uid)) as { enrolled?: unknown; exists?: unknown } | null;
      return { enrolled: Boolean(s && (s.enrolled ?? s.exists ?? true)) };
    },
    close: () => client.close?.(),
  };
}

/** True for "keystored is not there", as opposed to a refusal by keystored. */
export function isUnavailable(e: unknown): boolean {
  return e instanceof ProtocolError && (e.code === 'unavailable' || e.code === 'timeout');
}
