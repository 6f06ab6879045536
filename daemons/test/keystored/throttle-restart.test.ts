import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { code, pw, startEnv, type Env } from './helpers.js';

describe('keystored throttling survives a restart', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv(`
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

    // Crash (SIGKILL) and restart: the counters come back from disk.
    env.daemon.child.kill('SIGKILL');
    await env.daemon.exited;
    await env.restart();
    const after = await env.client.unlock(1000, pw('alice password'), 'password').catch((e: unknown) => e as { code: string; extra: { retry_after_ms?: number } });
    expect(after).toMatchObject({ code: 'rate_limited' });
    expect((after as { extra: { retry_after_ms?: number } }).extra.retry_after_ms).toBeGreaterThan(40_000);
    // The PIN is throttled by the same per-uid counter.
    expect(await code(env.client.unlock(1000, pw('2468'), 'pin'))).toBe('rate_limited');
  });
});
