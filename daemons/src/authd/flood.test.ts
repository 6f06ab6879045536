/**
 * What a flood of failed or refused attempts costs authd: the per-client window stays O(1) per
 * attempt, throttle.json is written at most once per save interval, and refusals are paced
 * like failures (the real daemon).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { connect, makeRoot, startDaemon, type TestRoot } from '../../../test/harness/index.js';
import { codeOf, testConfig } from '../../test/authd/helpers.js';
import type { SpawnedDaemon } from '../runtime/spawn-daemon.js';
import { AUTHD_DEFAULTS } from './config.js';
import { JsonStateFile } from './state-file.js';
import { Throttle } from './throttle.js';

const policy = { ...AUTHD_DEFAULTS.throttle };

describe('per-client window', () => {
  /** The definition: failures of this client within the window, the limit counted over the newest ones. */
  function reference(max: number, windowMs: number) {
    const times: number[] = [];
    return {
      failure: (t: number) => void times.push(t),
      retryAfter: (t: number) => {
        const kept = times.filter((x) => x > t - windowMs);
        if (kept.length < max) return 0;
        return Math.max(0, Math.ceil(kept[kept.length - max]! + windowMs - t));
      },
    };
  }

  test('matches the definition for any sequence of failures, checks and clock steps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1000, max: 5000 }),
        fc.array(fc.tuple(fc.constantFrom('fail', 'check'), fc.integer({ min: 0, max: 3000 })), { maxLength: 300 }),
        (max, windowMs, ops) => {
          let t = 1_000_000;
          const th = new Throttle({ ...policy, client_max_failures: max, client_window_ms: windowMs, max_failures: 1000 }, () => t);
          const ref = reference(max, windowMs);
          for (const [op, dt] of ops) {
            t += dt;
            if (op === 'fail') {
              th.failure(`u${dt % 7}`, 'c');
              ref.failure(t);
            }
            expect(th.retryAfter('anyone', 'c')).toBe(ref.retryAfter(t));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a flood costs O(1) per attempt, however large the window', () => {
    let t = 0;
    const th = new Throttle({ ...policy, client_max_failures: 100_000, client_window_ms: 3_600_000, max_failures: 1_000_000 }, () => t);
    const t0 = performance.now();
    for (let i = 0; i < 200_000; i++) {
      t += 1;
      th.retryAfter(`user${i % 20}`, 'flood');
      th.failure(`user${i % 20}`, 'flood');
    }
    // Filtering the whole window on every attempt (the former implementation) takes minutes here.
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(th.retryAfter('x', 'flood')).toBe(3_600_000 - 100_000 + 1);
    t += 3_600_000;
    expect(th.retryAfter('x', 'flood')).toBe(0);
  });
});

describe('JsonStateFile with minIntervalMs', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test('the first save writes at once; a burst is coalesced into one more write; flush writes at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-state-'));
    dirs.push(dir);
    let value = 0;
    let snapshots = 0;
    const snapshot = () => {
      snapshots++;
      return { value };
    };
    const f = new JsonStateFile(path.join(dir, 's.json'), snapshot, undefined, { minIntervalMs: 400 });
    value = 1;
    await f.save();
    expect(snapshots).toBe(1);
    expect(JSON.parse(readFileSync(f.file, 'utf8'))).toEqual({ value: 1 });
    const t0 = performance.now();
    const burst: Promise<void>[] = [];
    for (let i = 2; i <= 500; i++) {
      value = i;
      burst.push(f.save());
    }
    await Promise.all(burst);
    expect(snapshots).toBe(2); // one write for all 499 changes…
    expect(performance.now() - t0).toBeGreaterThan(300); // …made once the interval had passed
    expect(JSON.parse(readFileSync(f.file, 'utf8'))).toEqual({ value: 500 });

    value = 501;
    void f.save(); // would wait ~400 ms
    const t1 = performance.now();
    await f.flush();
    expect(performance.now() - t1).toBeLessThan(300);
    expect(snapshots).toBe(3);
    expect(JSON.parse(readFileSync(f.file, 'utf8'))).toEqual({ value: 501 });
  });
});

describe('refusals are paced like failures (built daemon)', () => {
  let d: SpawnedDaemon | null = null;
  let root: TestRoot | null = null;
  afterEach(async () => {
    await d?.stop();
    d = null;
    root?.cleanup();
    root = null;
  });

  test('rate_limited is answered after failure_delay_ms, with the time left', async () => {
    root = await makeRoot([{ name: 'rita', password: 'Rita-Password-1' }]);
    const { toml } = testConfig(root.dir);
    const cfg = toml.replace('[throttle]\nfailure_delay_ms = 20\n', '[throttle]\nfailure_delay_ms = 300\nmax_failures = 1\nlockout_ms = 60000\n');
    expect(cfg).not.toBe(toml);
    const daemon = await startDaemon('authd', { root: root.dir, config: cfg });
    d = daemon;
    const c = await connect('auth', daemon.socket);
    const attempt = async (password: string) => {
      const t0 = performance.now();
      const r = await c.request({ type: 'authenticate', username: 'rita', password, vt: 1, purpose: 'login' }).catch((e: unknown) => e as { code: string; extra?: { retry_after_ms?: number } });
      return { ms: performance.now() - t0, r: r as { code?: string; extra?: { retry_after_ms?: number } } };
    };
    const first = await attempt('wrong');
    expect(first.r.code).toBe('auth_failed');
    expect(first.ms).toBeGreaterThanOrEqual(290);
    for (const pw of ['wrong again', 'Rita-Password-1']) {
      const { ms, r } = await attempt(pw);
      expect(r.code).toBe('rate_limited');
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(r.extra?.retry_after_ms).toBeGreaterThan(55_000);
      expect(r.extra?.retry_after_ms).toBeLessThanOrEqual(60_000);
    }
    expect(await codeOf(c.request({ type: 'list_users' }))).toBe('ok');
    c.close();
  });
});
