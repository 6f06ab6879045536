import { ProtocolClient } from '@redbear/protocol/node';
import { ProtocolError } from '@redbear/protocol';
import { KeystoreClient, remoteKeyProvider } from '../lib/keystore-client/index.js';
import type { KeyProvider } from '../lib/securefs/index.js';

/** What authd's approval_result tells sessiond about the approved account. */
export interface ApprovedAccount {
  uid: number;
  gid: number;
  username: string;
  full_name: string;
  home: string;
  shell: string;
  purpose: 'login' | 'unlock';
  session_id: string | null;
  keystore_grant: string | null;
}

export interface AuthdPort {
  /** Redeem an approval once (authd checks VT and purpose). */
  consume(approval: string, vt: number, purpose: 'login' | 'unlock'): Promise<ApprovedAccount>;
}

export interface KeystoreSession {
  token: string;
  expiresAtMs: number;
  storeId: string;
}

export interface KeystorePort {
  openSession(grant: string, sessionId: string): Promise<KeystoreSession>;
  lockSession(token: string): Promise<void>;
  closeSession(token: string): Promise<void>;
  lockUser(uid: number): Promise<void>;
  /** A SecureFS key provider whose keys come from keystored for this token. */
  keyProvider(token: string, storeIdHex: string): KeyProvider;
  close(): void;
}

/** One connection per redemption: authd may restart between logins. */
export class AuthdClient implements AuthdPort {
  constructor(private readonly socketPath: string, private readonly timeoutMs: number) {}

  async consume(approval: string, vt: number, purpose: 'login' | 'unlock'): Promise<ApprovedAccount> {
    const c = await ProtocolClient.connect({ iface: 'auth', socketPath: this.socketPath, clientName: 'redbear-sessiond', timeoutMs: this.timeoutMs });
    try {
      const r = await c.request({ type: 'consume_approval', approval, vt, purpose });
      if (r.type !== 'approval_result') throw new ProtocolError('internal', `authd answered ${r.type}`);
      const account: ApprovedAccount = {
        uid: r.uid as number,
        gid: r.gid as number,
        username: r.username as string,
        full_name: r.full_name as string,
        home: r.home as string,
        shell: r.shell as string,
        purpose: r.purpose as 'login' | 'unlock',
        session_id: typeof r.session_id === 'string' ? r.session_id : null,
        keystore_grant: typeof r.keystore_grant === 'string' ? r.keystore_grant : null,
      };
      if (account.purpose !== purpose) throw new ProtocolError('approval_invalid', 'approval was issued for another purpose');
      return account;
    } finally {
      c.close();
    }
  }
}

/** keystored through the shared keystore client (one reconnecting connection). */
export class KeystoreClientPort implements KeystorePort {
  private readonly client: KeystoreClient;

  constructor(socketPath: string, timeoutMs: number) {
    this.client = new KeystoreClient({ socketPath, timeoutMs, clientName: 'redbear-sessiond' });
  }

  async openSession(grant: string, sessionId: string): Promise<KeystoreSession> {
    const r = await this.client.openSession(grant, sessionId, ['home']);
    return { token: r.token, expiresAtMs: r.expiresAtMs, storeId: r.storeId };
  }

  lockSession(token: string): Promise<void> {
    return this.client.lockSession(token);
  }

  closeSession(token: string): Promise<void> {
    return this.client.closeSession(token);
  }

  lockUser(uid: number): Promise<void> {
    return this.client.lockUser(uid);
  }

  keyProvider(token: string, storeIdHex: string): KeyProvider {
    return remoteKeyProvider(this.client, token, storeIdHex);
  }

  close(): void {
    this.client.close();
  }
}
