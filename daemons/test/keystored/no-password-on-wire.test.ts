import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import path from 'node:path';
import { assertNoSecrets } from '../../../test/harness/index.js';
import { KeystoreClient } from '../../src/lib/keystore-client/index.js';
import { pw, startEnv, type Env } from './helpers.js';

/** A recording proxy: every byte between the client and keystored, both directions. */
function proxy(listenPath: string, target: string): Promise<{ bytes: Buffer[]; close(): Promise<void> }> {
  const bytes: Buffer[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const u = net.connect(target);
    socks.add(c).add(u);
    c.on('data', (d: Buffer) => {
      bytes.push(Buffer.from(d));
      u.write(d);
    });
    u.on('data', (d: Buffer) => {
      bytes.push(Buffer.from(d));
      c.write(d);
    });
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
    c.on('error', () => undefined);
    u.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(listenPath, () =>
      resolve({
        bytes,
        close: () =>
          new Promise<void>((r) => {
            for (const s of socks) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

describe('the password never reaches keystored', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('enroll, unlock, PIN, password change and recovery reset carry no password bytes in any encoding', async () => {
    const p1 = 'Tr0ub4dor&3-first-password';
    const p2 = 'second password: correct horse';
    const p3 = 'third password after reset!';
    const pin = '918273';
    const sock = path.join(env.root.dir, 'run/proxy.sock');
    const px = await proxy(sock, env.daemon.socket);
    const c = new KeystoreClient({ socketPath: sock });
    try {
      const { recoveryKey } = await c.enroll(1000, 'alice', pw(p1), pw(pin));
      await c.unlock(1000, pw(p1), 'password');
      await c.unlock(1000, pw(pin), 'pin');
      await c.changePassword(1000, pw(p1), pw(p2));
      await c.setPin(1000, pw(p2), pw(pin));
      await c.resetWithRecovery(1000, pw(recoveryKey), pw(p3));
      await c.unlock(1000, pw(p3), 'password');
    } finally {
      c.close();
      await px.close();
    }
    const wire = Buffer.concat(px.bytes);
    expect(wire.length).toBeGreaterThan(1000);
    const text = wire.toString('latin1');
    const forms: string[] = [];
    for (const s of [p1, p2, p3, pin]) {
      const b = Buffer.from(s, 'utf8');
      forms.push(s, b.toString('base64'), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase(), Buffer.from(s, 'utf16le').toString('latin1'));
      // base64 of the password at any alignment inside a longer blob
      for (let shift = 1; shift < 3; shift++) forms.push(Buffer.concat([Buffer.alloc(shift), b]).toString('base64').slice(4, -4));
      expect(wire.includes(b)).toBe(false);
    }
    assertNoSecrets({ 'keystore socket traffic': text }, forms);
    // And nothing secret in keystored's log either.
    assertNoSecrets({ 'keystored log': env.daemon.stderr() + env.daemon.stdout() }, [...forms]);
  });
});
