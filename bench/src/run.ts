import { mkdtempSync, rmSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bench, BenchRow } from './types.js';

/**
 * `npm run bench`: every benchmark in benches/, each against a reference measured in the
 * same run; prints a table and writes bench/results/latest.json (git-ignored).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } } });

export function withRatio(r: BenchRow): BenchRow {
  if (r.reference === undefined || r.ratio !== undefined) return r;
  const ratio = r.higherIsBetter ? r.ours / r.reference : r.ours / r.reference;
  return { ...r, ratio: Number(ratio.toFixed(3)) };
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

async function main(): Promise<void> {
  const dir = path.join(here, 'benches');
  const files = readdirSync(dir).filter((f) => f.endsWith('.js') && (!values.only || f.includes(values.only))).sort();
  const rows: BenchRow[] = [];
  for (const f of files) {
    const mod = (await import(path.join(dir, f))) as { bench?: Bench };
    if (!mod.bench) continue;
    const tmp = mkdtempSync(path.join(tmpdir(), `rb-bench-${mod.bench.name}-`));
    const t0 = Date.now();
    process.stderr.write(`bench ${mod.bench.name}…\n`);
    try {
      const got = await mod.bench.run({ tmpDir: tmp, quick: values.quick ?? false, log: (m) => process.stderr.write(`  ${m}\n`) });
      rows.push(...got.map(withRatio));
    } catch (e) {
      rows.push({ bench: mod.bench.name, metric: 'FAILED', ours: NaN, unit: '', note: (e as Error).message });
      process.exitCode = 1;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    process.stderr.write(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  const header = ['bench', 'metric', 'ours', 'reference', 'unit', 'ratio', 'goal', 'note'];
  const table = rows.map((r) => [r.bench, r.metric, fmt(r.ours), r.reference === undefined ? '' : `${fmt(r.reference)}${r.referenceName ? ` (${r.referenceName})` : ''}`, r.unit, fmt(r.ratio), r.goal ?? '', r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const t of table) console.log(line(t));
  const outDir = path.resolve(here, '../results');
  mkdirSync(outDir, { recursive: true });
  const out = values.out ?? path.join(outDir, 'latest.json');
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), quick: values.quick, rows }, null, 2) + '\n');
  console.log(`\nresults: ${out}`);
}

await main();
