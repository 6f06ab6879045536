import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrateSha512Rounds, CryptWorkerPool, sha512crypt, verifyPassword } from '@redbear/daemons/lib/crypt';
import type { Bench, BenchRow } from '../types.js';

const PASSWORD = 'correct horse battery staple';
const SALT = 'Rb7.Salt/Salt.16';
/** What hashPassword calibrates new sha512crypt hashes to (SHA512_CALIBRATION_TARGET_MS). */
const TARGET_MS = 250;
/**
 * Fixed "default-cost" rounds for the comparison: about what calibration to 250 ms gives on an idle
 * machine (~0.9 µs per round for ours). Fixed rather than calibrated so runs are comparable; the
 * calibrated value is reported as its own row.
 */
const DEFAULT_ROUNDS = 250_000;
const REFERENCE = 'libxcrypt crypt_r (C, cc -O2)';
const GOAL = '≤ 1.3';

interface Timing {
  hash: string;
  /** Mean wall-clock ms per call. */
  wall: number;
  /** Mean CPU ms per call. */
  cpu: number;
}

/** The machine is shared (2 cores, other jobs): keep the best (lowest) of several batch means. */
async function best<T>(batches: number, key: (t: T) => number, fn: () => T | Promise<T>): Promise<T> {
  let min: T | undefined;
  for (let i = 0; i < batches; i++) {
    const r = await fn();
    if (min === undefined || key(r) < key(min)) min = r;
  }
  return min!;
}

/** Compile bench/c/crypt-bench.c into tmpDir; returns a function timing N crypt_r calls. */
function buildReference(tmpDir: string): (setting: string, iterations: number) => Timing {
  const src = fileURLToPath(new URL('../../c/crypt-bench.c', import.meta.url));
  const exe = path.join(tmpDir, 'crypt-bench');
  execFileSync('cc', ['-O2', '-o', exe, src, '-lcrypt'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return (setting, iterations) => {
    const [hash = '', wall = 'NaN', cpu = 'NaN'] = execFileSync(exe, [setting, String(iterations)], { input: PASSWORD, encoding: 'utf8' })
      .trim()
      .split('\n');
    return { hash, wall: Number(wall) / 1e6, cpu: Number(cpu) / 1e6 };
  };
}

/** sha512crypt on this thread (after one warm-up call). The pool is idle meanwhile, so process CPU ≈ ours. */
function inThread(setting: string, iterations: number): Timing {
  const pw = Buffer.from(PASSWORD);
  const hash = sha512crypt(pw, setting);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sha512crypt(pw, setting);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6 / iterations;
  const c = process.cpuUsage(c0);
  return { hash, wall, cpu: (c.user + c.system) / 1000 / iterations };
}

/** Mean wall-clock latency of verifyPassword through the worker pool, one at a time (after one warm-up). */
async function throughPool(pool: CryptWorkerPool, hash: string, iterations: number): Promise<number> {
  const pw = Buffer.from(PASSWORD);
  if (!(await verifyPassword(pw, hash, { pool }))) throw new Error('pool verification failed');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await verifyPassword(pw, hash, { pool });
  return Number(process.hrtime.bigint() - t0) / 1e6 / iterations;
}

/**
 * sha512crypt verification time: ours (pure TypeScript on node:crypto) against libxcrypt's crypt_r in C,
 * both in the same run, at the spec default of 5000 rounds and at a default-cost 250 000 rounds.
 * "in-thread" rows compare CPU time per call (the raw algorithm; robust on a loaded machine);
 * "worker pool" rows compare wall-clock latency of verifyPassword (what authd pays, including the
 * message round trip) with crypt_r's wall-clock time. Each figure is the best of several batches.
 */
export const bench: Bench = {
  name: 'sha512crypt',
  async run(ctx) {
    const ref = buildReference(ctx.tmpDir);
    const pool = new CryptWorkerPool({ size: 1 });
    const rows: BenchRow[] = [];
    const row = (metric: string, ours: number, reference: number, note?: string): BenchRow => ({
      bench: 'sha512crypt', metric, ours, unit: 'ms', reference, referenceName: REFERENCE, goal: GOAL, ...(note ? { note } : {}),
    });
    try {
      for (const [rounds, n, nC, batches] of [
        [5000, ctx.quick ? 5 : 60, ctx.quick ? 10 : 200, ctx.quick ? 1 : 5],
        [ctx.quick ? 20_000 : DEFAULT_ROUNDS, ctx.quick ? 1 : 2, ctx.quick ? 2 : 6, ctx.quick ? 1 : 3],
      ] as const) {
        const setting = `$6$rounds=${rounds}$${SALT}`;
        // Interleave C and ours batch by batch so both see the same background load.
        let c: Timing = { hash: '', wall: Infinity, cpu: Infinity };
        let ours: Timing = { hash: '', wall: Infinity, cpu: Infinity };
        for (let i = 0; i < batches; i++) {
          const rc = ref(setting, nC);
          c = { hash: rc.hash, wall: Math.min(c.wall, rc.wall), cpu: Math.min(c.cpu, rc.cpu) };
          const ro = inThread(setting, n);
          ours = { hash: ro.hash, wall: Math.min(ours.wall, ro.wall), cpu: Math.min(ours.cpu, ro.cpu) };
        }
        const cWall = c;
        if (ours.hash !== c.hash) throw new Error(`hash mismatch: ${ours.hash} vs ${c.hash}`);
        const viaPool = await best(batches, (ms) => ms, () => throughPool(pool, ours.hash, n));
        ctx.log(
          `rounds=${rounds}: ours CPU ${ours.cpu.toFixed(2)} ms (wall ${ours.wall.toFixed(2)}), pool wall ${viaPool.toFixed(2)} ms; ` +
            `C CPU ${c.cpu.toFixed(2)} ms, wall ${cWall.wall.toFixed(2)} ms`,
        );
        rows.push(
          row(`verify rounds=${rounds}, in-thread (CPU time)`, ours.cpu, c.cpu),
          row(`verify rounds=${rounds}, worker pool (wall latency)`, viaPool, cWall.wall),
        );
      }
      if (!ctx.quick) {
        const calibrated = await calibrateSha512Rounds(TARGET_MS, { pool });
        ctx.log(`calibrated rounds for ${TARGET_MS} ms: ${calibrated}`);
        rows.push({
          bench: 'sha512crypt', metric: `calibrated rounds for ${TARGET_MS} ms`, ours: calibrated, unit: 'rounds', higherIsBetter: true,
          note: 'what hashPassword uses for new sha512crypt hashes on this machine (wall-clock, so lower when the machine is loaded)',
        });
      }
    } finally {
      await pool.close();
    }
    return rows;
  },
};
