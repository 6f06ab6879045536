import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { BusyError, PoolClosedError, WorkerCrashedError } from './errors.js';
import { verifyPassword } from './password.js';
import { sha512crypt } from './sha-crypt.js';
import { CryptWorkerPool } from './worker-pool.js';

const pools: CryptWorkerPool[] = [];
const newPool = (opts?: ConstructorParameters<typeof CryptWorkerPool>[0]) => {
  const p = new CryptWorkerPool(opts);
  pools.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

const pwCopy = (s: string) => new Uint8Array(Buffer.from(s));

describe('CryptWorkerPool', () => {
  test('the event loop keeps ticking while 8 verifications of rounds=200000 run', async () => {
    // The built-in implementation in the pool too, so that `single` (timed on this thread with
    // it) is what each verification costs there.
    const pool = newPool({ shaCryptBackend: 'builtin' });
    // Start both workers first: from TypeScript sources, the first spawn transpiles this folder
    // synchronously (test-only path; built code has crypt-worker.js and never does that).
    await Promise.all([0, 1].map(() => pool.run({ op: 'sha512crypt', password: pwCopy('w'), setting: '$6$warm' })));
    // One verification on this thread: what a blocking implementation would stall the loop for, each time.
    const s0 = performance.now();
    const hash = sha512crypt(Buffer.from('pw'), '$6$rounds=200000$ticktock');
    const single = performance.now() - s0;
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => verifyPassword(Buffer.from(i % 2 ? 'pw' : 'wrong'), hash, { pool })),
    );
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    expect(results).toEqual([false, true, false, true, false, true, false, true]);
    // Blocking would allow at most one tick between verifications (≤ 8) and gaps of ≥ `single` each.
    // Bounds are loose because the test machine is shared and heavily loaded.
    expect(elapsed).toBeGreaterThan(single); // the work really ran during the interval
    expect(ticks).toBeGreaterThan(16);
    expect(ticks).toBeGreaterThan(elapsed / 5 / 8);
    expect(maxGap).toBeLessThan(single);
    expect(pool.stats.workers).toBeLessThanOrEqual(2);
  });

  test('bounded queue: BusyError when full, other tasks still complete', async () => {
    const pool = newPool({ size: 1, maxQueue: 1 });
    const setting = '$6$rounds=50000$busybusy';
    const a = pool.run({ op: 'sha512crypt', password: pwCopy('a'), setting }); // running
    const b = pool.run({ op: 'sha512crypt', password: pwCopy('b'), setting }); // queued
    const c = pool.run({ op: 'sha512crypt', password: pwCopy('c'), setting }); // rejected
    await expect(c).rejects.toBeInstanceOf(BusyError);
    expect((await a).value).toBe(sha512crypt(Buffer.from('a'), setting));
    expect((await b).value).toBe(sha512crypt(Buffer.from('b'), setting));
  });

  test('a waiting task is posted ahead to the busy worker; results arrive for the right tasks', async () => {
    const pool = newPool({ size: 1, maxQueue: 2, shaCryptBackend: 'builtin' });
    const slow = '$6$rounds=400000$ahead';
    const a = pool.run({ op: 'sha512crypt', password: pwCopy('a'), setting: slow });
    const b = pool.run({ op: 'sha512crypt', password: pwCopy('b'), setting: '$6$ahead' });
    const c = pool.run({ op: 'sha512crypt', password: pwCopy('c'), setting: '$6$ahead' });
    // b went to the worker behind a; c waits here; both count against maxQueue.
    expect(pool.stats).toMatchObject({ busy: 1, ahead: 1, queued: 2 });
    await expect(pool.run({ op: 'sha512crypt', password: pwCopy('d'), setting: '$6$ahead' })).rejects.toBeInstanceOf(BusyError);
    expect((await a).value).toBe(sha512crypt(Buffer.from('a'), slow));
    expect((await b).value).toBe(sha512crypt(Buffer.from('b'), '$6$ahead'));
    expect((await c).value).toBe(sha512crypt(Buffer.from('c'), '$6$ahead'));
    expect(pool.stats).toMatchObject({ busy: 0, ahead: 0, queued: 0 });
  });

  test('tasks with a timeout are never posted ahead (their timer starts when they run)', async () => {
    const pool = newPool({ size: 1, shaCryptBackend: 'builtin' });
    const a = pool.run({ op: 'sha512crypt', password: pwCopy('a'), setting: '$6$rounds=400000$timed' });
    const b = pool.run({ op: 'sha512crypt', password: pwCopy('b'), setting: '$6$timed' }, { timeoutMs: 60_000 });
    expect(pool.stats).toMatchObject({ busy: 1, ahead: 0, queued: 1 });
    await Promise.all([a, b]);
  });

  test('a pool of two workers posts nothing ahead: a waiting task goes to whichever worker frees first', async () => {
    const pool = newPool({ size: 2, shaCryptBackend: 'builtin' });
    await Promise.all([0, 1].map(() => pool.run({ op: 'sha512crypt', password: pwCopy('w'), setting: '$6$warm' }))); // both workers started
    const slow = '$6$rounds=2000000$hol';
    const order: string[] = [];
    const run = (name: string, setting: string) => pool.run({ op: 'sha512crypt', password: pwCopy(name), setting }).then(() => order.push(name));
    const all = [run('slow', slow), run('fast', '$6$hol'), run('c', '$6$hol'), run('d', '$6$hol')];
    expect(pool.stats).toMatchObject({ busy: 2, ahead: 0, queued: 2 });
    await Promise.all(all);
    expect(order).toEqual(['fast', 'c', 'd', 'slow']); // c did not wait behind the slow one
  });

  test('a password posted ahead is in shared memory: the worker zeroes it on receipt, close() if it never got there', async () => {
    const pool = newPool({ size: 1, shaCryptBackend: 'builtin' });
    const shared = () => {
      const v = new Uint8Array(new SharedArrayBuffer(6));
      v.set(Buffer.from('secret'));
      return v;
    };
    // Runs to the end: zeroed by the worker as it starts.
    const a = pool.run({ op: 'sha512crypt', password: pwCopy('a'), setting: '$6$rounds=300000$zero' });
    const pwB = shared();
    const b = pool.run({ op: 'sha512crypt', password: pwB, setting: '$6$zero' });
    expect(pool.stats.ahead).toBe(1);
    expect((await b).value).toBe(sha512crypt(Buffer.from('secret'), '$6$zero'));
    expect([...pwB].every((x) => x === 0)).toBe(true);
    await a;
    // Closed while still posted ahead (the worker is busy with a long task): zeroed here.
    const c = pool.run({ op: 'sha512crypt', password: pwCopy('c'), setting: '$6$rounds=50000000$zero' });
    const pwD = shared();
    const d = pool.run({ op: 'sha512crypt', password: pwD, setting: '$6$zero' });
    expect(pool.stats.ahead).toBe(1);
    const settled = Promise.allSettled([c, d]);
    await pool.close();
    expect((await settled).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect([...pwD].every((x) => x === 0)).toBe(true);
    // An ordinary password handed over ahead is copied into shared memory and scrubbed here.
    const pool2 = newPool({ size: 1, shaCryptBackend: 'builtin' });
    const e = pool2.run({ op: 'sha512crypt', password: pwCopy('e'), setting: '$6$rounds=100000$zero' });
    const pwF = pwCopy('secret');
    const f = pool2.run({ op: 'sha512crypt', password: pwF, setting: '$6$zero' });
    expect(pwF.byteLength).toBe(6); // not transferred…
    expect([...pwF].every((x) => x === 0)).toBe(true); // …but scrubbed
    expect((await f).value).toBe(sha512crypt(Buffer.from('secret'), '$6$zero'));
    await e;
  });

  test('a worker that dies fails the task posted ahead to it too, and the pool carries on', async () => {
    const pool = newPool({ size: 1 });
    const dying = pool.run({ op: 'exit', code: 3 });
    const behind = pool.run({ op: 'sha512crypt', password: pwCopy('x'), setting: '$6$abc' });
    const crashed = (e: unknown) => e instanceof WorkerCrashedError && e.reason === 'crash';
    await expect(dying).rejects.toSatisfy(crashed);
    await expect(behind).rejects.toSatisfy((e: unknown) => crashed(e) && /before this task ran/.test((e as Error).message));
    expect((await pool.run({ op: 'sha512crypt', password: pwCopy('y'), setting: '$6$abc' })).value).toBe(sha512crypt(Buffer.from('y'), '$6$abc'));
  });

  test('the password copy is transferred (detached here) and never the caller buffer', async () => {
    const pool = newPool({ size: 1 });
    const copy = pwCopy('secret');
    const p = pool.run({ op: 'sha512crypt', password: copy, setting: '$6$abc' });
    expect(copy.byteLength).toBe(0);
    expect((await p).value).toBe(sha512crypt(Buffer.from('secret'), '$6$abc'));
  });

  test('a view into a shared (pooled) buffer is copied, not transferred', async () => {
    const pool = newPool({ size: 1 });
    const big = Buffer.from('xxsecretyy');
    const view = big.subarray(2, 8);
    const r = await pool.run({ op: 'sha512crypt', password: view, setting: '$6$abc' });
    expect(r.value).toBe(sha512crypt(Buffer.from('secret'), '$6$abc'));
    expect(big.buffer.byteLength).toBeGreaterThan(0); // not detached
    expect(big.toString('latin1')).toBe('xx\0\0\0\0\0\0yy'); // the handed-over bytes were scrubbed
  });

  test('a crashed worker is replaced and the pool keeps working', async () => {
    const pool = newPool({ size: 1 });
    await expect(pool.run({ op: 'exit', code: 3 })).rejects.toSatisfy(
      (e: unknown) => e instanceof WorkerCrashedError && e.reason === 'crash',
    );
    const r = await pool.run({ op: 'sha512crypt', password: pwCopy('x'), setting: '$6$abc' });
    expect(r.value).toBe(sha512crypt(Buffer.from('x'), '$6$abc'));
    expect(pool.stats.restarts).toBe(1);
  });

  // The built-in implementation returns to JavaScript every round, so terminate() stops it at once.
  // A native crypt_rn call (libxcrypt backend) cannot be interrupted: see the next test.
  test('timeoutMs terminates a stuck worker; queued work proceeds on a fresh one', async () => {
    const pool = newPool({ size: 1, shaCryptBackend: 'builtin' });
    const slow = pool.run({ op: 'sha512crypt', password: pwCopy('x'), setting: '$6$rounds=50000000$slow' }, { timeoutMs: 100 });
    const next = pool.run({ op: 'sha512crypt', password: pwCopy('y'), setting: '$6$abc' });
    await expect(slow).rejects.toSatisfy((e: unknown) => e instanceof WorkerCrashedError && e.reason === 'timeout');
    expect((await next).value).toBe(sha512crypt(Buffer.from('y'), '$6$abc'));
  });

  test('timeoutMs inside libxcrypt: the task rejects on time and the pool carries on (the old thread ends when crypt_rn returns)', async () => {
    const pool = newPool({ size: 1, shaCryptBackend: 'libxcrypt' });
    const t0 = performance.now();
    const slow = pool.run({ op: 'sha512crypt', password: pwCopy('x'), setting: '$6$rounds=2000000$slow' }, { timeoutMs: 100 });
    const next = pool.run({ op: 'sha512crypt', password: pwCopy('y'), setting: '$6$abc' });
    await expect(slow).rejects.toSatisfy((e: unknown) => e instanceof WorkerCrashedError && e.reason === 'timeout');
    expect(performance.now() - t0).toBeLessThan(600);
    const r = await next;
    expect(r.value).toBe(sha512crypt(Buffer.from('y'), '$6$abc'));
    expect(r.backend).toBe('libxcrypt');
  });

  test('close() rejects running and queued tasks, and later calls', async () => {
    const pool = newPool({ size: 1, shaCryptBackend: 'builtin' });
    const setting = '$6$rounds=5000000$closing';
    const running = pool.run({ op: 'sha512crypt', password: pwCopy('a'), setting });
    const queued = pool.run({ op: 'sha512crypt', password: pwCopy('b'), setting });
    const settled = Promise.allSettled([running, queued]);
    await pool.close();
    for (const r of await settled) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PoolClosedError);
    }
    await expect(pool.run({ op: 'sha512crypt', password: pwCopy('c'), setting: '$6$x' })).rejects.toBeInstanceOf(PoolClosedError);
    expect(pool.stats.workers).toBe(0);
  });

  test('idle workers do not keep a process alive', () => {
    // A child process that verifies once and then does nothing must exit by itself without close().
    const script = `
      import { verifyPassword } from ${JSON.stringify(new URL('./password.ts', import.meta.url).href)};
      const ok = await verifyPassword(Buffer.from('pw'), ${JSON.stringify(sha512crypt(Buffer.from('pw'), '$6$alive'))});
      console.log(String(ok));
    `;
    const out = execFileSync(process.execPath, ['--import', 'data:text/javascript,' + encodeURIComponent(TS_LOADER), '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
      cwd: new URL('.', import.meta.url).pathname,
    });
    expect(out.trim()).toBe('true');
  });
});

/** Minimal loader for running this folder's .ts from a plain node child (same approach as worker-spawn.ts). */
const TS_LOADER = `
import { register } from 'node:module';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const ts = pathToFileURL(createRequire(${JSON.stringify(new URL('./password.ts', import.meta.url).pathname)}).resolve('typescript')).href;
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(`
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
let ts;
export async function initialize(d) { ts = (await import(d.ts)).default; }
export async function resolve(s, c, n) {
  if (s.startsWith('.') && s.endsWith('.js') && c.parentURL?.endsWith('.ts')) {
    const t = new URL(s.slice(0, -3) + '.ts', c.parentURL);
    if (existsSync(fileURLToPath(t))) return { url: t.href, format: 'module', shortCircuit: true };
  }
  return n(s, c);
}
export async function load(u, c, n) {
  if (u.startsWith('file:') && u.endsWith('.ts')) {
    const out = ts.transpileModule(await readFile(fileURLToPath(u), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
    return { format: 'module', source: out.outputText, shortCircuit: true };
  }
  return n(u, c);
}`)}), { data: { ts } });
`;
