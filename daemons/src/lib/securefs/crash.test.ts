import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { createStore, openStore } from './store.js';
import { verifyStore } from './verify.js';
import { umkKeyProvider } from './key-provider.js';
import { FileCheckpointHolder, crashContent, testKeys } from './insecure-test-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const ITERATIONS = Number(process.env.SFS_CRASH_ITERATIONS ?? 60);
let work: string;

beforeAll(async () => {
  // Transpile this library (no type check) so the child runs on plain node, no loader needed.
  work = await mkdtemp(join(process.env.SFS_TEST_TMP ?? tmpdir(), 'sfs-crash-'));
  const out = join(work, 'js');
  await mkdir(out);
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
  for (const f of await readdir(here)) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    const src = await readFile(join(here, f), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
    await writeFile(join(out, f.replace(/\.ts$/, '.js')), js);
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Log {
  begun: Map<number, number[]>;
  committed: Map<number, number>;
}

function runAndKill(args: string[], delayMs: number): Promise<Log> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(work, 'js', 'insecure-crash-child.js'), ...args], {
      env: { ...process.env, SFS_CRASH_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!timer && out.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited ${code}: ${err}`));
      const log: Log = { begun: new Map(), committed: new Map() };
      for (const line of out.split('\n')) {
        const m = /^([BC]) (\d+) (\d+)$/.exec(line); // a torn last line is ignored
        if (!m) continue;
        const i = Number(m[2]);
        const g = Number(m[3]);
        if (m[1] === 'B') log.begun.set(i, [...(log.begun.get(i) ?? []), g]);
        else log.committed.set(i, g);
      }
      resolve(log);
    });
  });
}

describe('crash consistency', () => {
  it(`kill -9 during writes (${ITERATIONS}×): store opens, verifies, every file is its old or new content`, async () => {
    const dir = join(work, 'store');
    const cpFile = join(work, 'checkpoint.json');
    const k = testKeys('crash');
    const provider = (): ReturnType<typeof umkKeyProvider> =>
      umkKeyProvider(k.umk, k.storeId, { checkpoints: new FileCheckpointHolder(cpFile) });
    const s0 = await createStore(dir, provider());
    await s0.mkdir('/d');
    await s0.close();
    const current = new Map<number, number>(); // file → generation it must hold (−1 = absent)
    let sawTorn = 0;
    let commits = 0;
    let killedMidWrite = 0;
    for (let it = 0; it < ITERATIONS; it++) {
      const base = (it + 1) * 100_000;
      const log = await runAndKill([dir, k.umk.toString('hex'), k.storeId.toString('hex'), cpFile, String(base)], 5 + ((it * 37) % 120));
      commits += log.committed.size === 0 ? 0 : [...log.begun.values()].reduce((n, g) => n + g.length, 0);
      if ([...log.begun].some(([i, gs]) => gs.some((g) => g > (log.committed.get(i) ?? -1)))) killedMidWrite++;
      const s = await openStore(dir, provider());
      const rep = await verifyStore(dir, provider());
      expect(rep.problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(rep.ok).toBe(true);
      for (let i = 0; i < 5; i++) {
        const committed = log.committed.get(i);
        const allowed = new Set<number>([committed ?? current.get(i) ?? -1]);
        for (const g of log.begun.get(i) ?? []) if (committed === undefined || g > committed) allowed.add(g);
        const exists = await s.exists(`/d/f${i}`);
        const data = exists ? await s.readFile(`/d/f${i}`) : null;
        let matched: number | null = null;
        for (const g of allowed) {
          if (g === -1 ? data === null : data !== null && data.equals(crashContent(i, g))) matched = g;
        }
        expect(matched, `file ${i} iteration ${it}: content is neither old nor new`).not.toBeNull();
        if (matched !== committed && matched !== (current.get(i) ?? -1)) sawTorn++;
        current.set(i, matched!);
      }
      await s.close();
    }
    console.log(`crash test: ${ITERATIONS} kills, ~${commits} writes started, ${killedMidWrite} kills with a write in flight, ${sawTorn} in-flight writes found committed`);
    expect([...current.values()].filter((g) => g > 0).length).toBeGreaterThan(0);
    expect(killedMidWrite).toBeGreaterThan(ITERATIONS / 2);
  }, 120_000);
});
