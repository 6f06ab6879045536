import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProtocolError } from '../../../protocol/src/common/index.js';
import { ProtocolServer } from '../../../protocol/src/node/index.js';
import { KeystoreClient } from '../../src/lib/keystore-client/index.js';

/**
 * A stand-in for redbear-authd, used only while the real one cannot start: it checks passwords
 * against a table, unlocks (enrolling on first use) the user's domain in the *real* keystored
 * and issues single-use approvals bound to uid, VT and purpose, redeemed with consume_approval.
 */
export async function startFakeAuthd(rootDir: string, passwords: Record<string, string>): Promise<{ socket: string; close(): Promise<void> }> {
  const socket = path.join(rootDir, 'run/redbear-authd.sock');
  const ks = new KeystoreClient({ socketPath: path.join(rootDir, 'run/redbear-keystored.sock'), timeoutMs: 20_000 });
  const approvals = new Map<string, { user: string; vt: number; purpose: string; grant: string | null; expires: number }>();
  const account = (user: string) => {
    const l = readFileSync(path.join(rootDir, 'etc/passwd'), 'utf8').split('\n').find((x) => x.startsWith(`${user}:`));
    if (!l) throw new ProtocolError('auth_failed', 'authentication failed');
    const f = l.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]), full_name: f[4]!.split(',')[0]!, home: f[5]!, shell: f[6]! };
  };
  const server = new ProtocolServer({
    iface: 'auth',
    socketPath: socket,
    serverName: 'fake-authd',
    rate: { perSecond: 1000, burst: 1000 },
    handler: async (m) => {
      if (m.type === 'authenticate') {
        const user = m.username as string;
        if (passwords[user] === undefined || passwords[user] !== m.password) throw new ProtocolError('auth_failed', 'authentication failed');
        const a = account(user);
        const pw = Buffer.from(m.password as string);
        if (!(await ks.status(a.uid)).exists) await ks.enroll(a.uid, user, pw);
        const { grant } = await ks.unlock(a.uid, pw, 'password');
        const approval = randomBytes(32).toString('base64url');
        approvals.set(approval, { user, vt: m.vt as number, purpose: m.purpose as string, grant, expires: Date.now() + 15_000 });
        return { type: 'authenticate_result', uid: a.uid, username: user, approval, expires_in_ms: 15_000 };
      }
      if (m.type === 'consume_approval') {
        const ap = approvals.get(m.approval as string);
        approvals.delete(m.approval as string);
        if (!ap || ap.expires < Date.now() || ap.vt !== m.vt || ap.purpose !== m.purpose) throw new ProtocolError('approval_invalid', 'approval invalid');
        const a = account(ap.user);
        return { type: 'approval_result', ...a, username: ap.user, purpose: ap.purpose, keystore_grant: ap.grant };
      }
      throw new ProtocolError('unknown_type', 'not in the fake');
    },
  });
  await server.listen();
  return {
    socket,
    async close() {
      ks.close();
      await server.close(100);
    },
  };
}
