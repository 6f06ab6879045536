import { ProtocolClient } from '@redbear/protocol/node';
import { ProtocolError } from '@redbear/protocol';
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

/** keystored over its socket: one lazily (re)connected v2 connection. */
export class KeystoreClientPort implements KeystorePort {
  private client: ProtocolClient | null = null;
  private connecting: Promise<ProtocolClient> | null = null;

  constructor(private readonly socketPath: string, private readonly timeoutMs: number) {}

  private async conn(): Promise<ProtocolClient> {
    if (this.client && !this.client.isClosed) return this.client;
    if (!this.connecting) {
      this.connecting = ProtocolClient.connect({ iface: 'keystore', socketPath: this.socketPath, clientName: 'redbear-sessiond', timeoutMs: this.timeoutMs }).then(
        (c) => {
          this.client = c;
          this.connecting = null;
          return c;
        },
        (e: unknown) => {
          this.connecting = null;
          throw e;
        },
      );
    }
    return this.connecting;
  }

  private async request(msg: Record<string, unknown> & { type: string }): Promise<Record<string, unknown>> {
    return (await this.conn()).request(msg);
  }

  async openSession(grant: string, sessionId: string): Promise<KeystoreSession> {
    const r = await this.request({ type: 'open_session', grant, session_id: sessionId, scopes: ['home'] });
    return { token: r.token as string, expiresAtMs: r.expires_at_ms as number, storeId: r.store_id as string };
  }

  async lockSession(token: string): Promise<void> {
    await this.request({ type: 'lock_session', token });
  }

  async closeSession(token: string): Promise<void> {
    await this.request({ type: 'close_session', token });
  }

  async lockUser(uid: number): Promise<void> {
    await this.request({ type: 'lock_user', uid });
  }

  keyProvider(token: string, storeIdHex: string): KeyProvider {
    const key = async (msg: Record<string, unknown> & { type: string }): Promise<Buffer> => {
      const r = await this.request(msg);
      return Buffer.from(r.key as string, 'base64');
    };
    return {
      storeId: Buffer.from(storeIdHex, 'hex'),
      fileKey: (fileId, keyGen) => key({ type: 'file_key', token, file_id: fileId.toString('hex'), key_gen: keyGen }),
      indexKey: () => key({ type: 'index_key', token }),
      checkpoint: async (epoch, indexHash) => {
        await this.request({ type: 'checkpoint', token, epoch, index_hash: indexHash.toString('hex') });
      },
      lastCheckpoint: async () => {
        const r = await this.request({ type: 'last_checkpoint', token });
        if (r.epoch === null || typeof r.index_hash !== 'string') return null;
        return { epoch: r.epoch as number, indexHash: Buffer.from(r.index_hash, 'hex') };
      },
    };
  }

  close(): void {
    this.client?.close();
    this.client = null;
  }
}
