import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sodium from 'libsodium-wrappers-sumo';
import { connect } from '../../../test/harness/index.js';
import { KeystoreClient, encodeSealedPlain, ROLE } from '../../src/lib/keystore-client/index.js';
import { code, pw, startEnv, type Env } from './helpers.js';

describe('keystored throttling survives a restart', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv(`
grant_ttl_ms = 1000
challenge_ttl_ms = 1000

[throttle]
free_failures = 2
base_delay_ms = 60000
max_delay_ms = 600000
pin_max_failures = 3
`);
    await env.client.enroll(1000, 'alice', pw('alice password'), pw('2468'));
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('counts failures per uid, refuses with rate_limited + retry_after_ms, also after kill -9 and restart', async () => {
    expect(await code(env.client.unlock(1000, pw('nope 1'), 'password'))).toBe('auth_failed');
    expect(await code(env.client.unlock(1000, pw('nope 2'), 'password'))).toBe('auth_failed');
    const err = await env.client.unlock(1000, pw('alice password'), 'password').catch((e: unknown) => e as { code: string; extra: { retry_after_ms?: number } });
    expect(err).toMatchObject({ code: 'rate_limited' });
    const retry = (err as { extra: { retry_after_ms?: number } }).extra.retry_after_ms!;
    expect(retry).toBeGreaterThan(50_000);
    expect(retry).toBeLessThanOrEqual(60_000);
    // Another uid is not affected.
    await env.client.enroll(1001, 'bob', pw('bob password'));
    await env.client.unlock(1001, pw('bob password'), 'password');

    // An unused grant expires and takes the unlocked UMK with it.
    expect(await env.client.status(1001)).toMatchObject({ unlocked: true });
    await new Promise((r) => setTimeout(r, 1300));
    expect(await env.client.status(1001)).toMatchObject({ unlocked: false });

    // A challenge older than its TTL is refused (and is not counted as a failure).
    await sodium.ready;
    const raw = await connect('keystore', env.daemon.socket);
    const ch = (await raw.request({ type: 'get_challenge', uid: 1001, purpose: 'unlock', protector: 'password' })) as Record<string, string>;
    await new Promise((r) => setTimeout(r, 1100));
    const sealed = Buffer.from(
      sodium.crypto_box_seal(encodeSealedPlain(ROLE.current, Buffer.from(ch.challenge!, 'base64'), Buffer.alloc(32, 9)), Buffer.from(ch.server_public_key!, 'base64')),
    ).toString('base64');
    await expect(raw.request({ type: 'unlock', uid: 1001, protector: 'password', sealed })).rejects.toMatchObject({ code: 'invalid_state' });
    raw.close();


    // Crash (SIGKILL) and restart: the counters come back from disk.
    const survivor = new KeystoreClient({ socketPath: env.daemon.socket });
    await survivor.status(1000);
    env.daemon.child.kill('SIGKILL');
    await env.daemon.exited;
    await env.restart();
    // A client made before the restart reconnects on its next request.
    expect(await survivor.status(1000)).toMatchObject({ exists: true, unlocked: false });
    survivor.close();
    const after = await env.client.unlock(1000, pw('alice password'), 'password').catch((e: unknown) => e as { code: string; extra: { retry_after_ms?: number } });
    expect(after).toMatchObject({ code: 'rate_limited' });
    expect((after as { extra: { retry_after_ms?: number } }).extra.retry_after_ms).toBeGreaterThan(40_000);
    // The PIN is throttled by the same per-uid counter.
    expect(await code(env.client.unlock(1000, pw('2468'), 'pin'))).toBe('rate_limited');
  });
});
