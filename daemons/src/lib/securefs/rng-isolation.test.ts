import { describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const daemonsSrc = resolve(here, '../../..');

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') out.push(...(await walk(p)));
    } else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const isTest = (f: string): boolean => /\.test\.(ts|js)$/.test(f);
const isInsecure = (f: string): boolean => /insecure/i.test(f.slice(f.lastIndexOf('/') + 1));

/** Relative import/export specifiers of a module (static, dynamic and re-exports). */
function specifiers(src: string): string[] {
  const re = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  const out: string[] = [];
  for (let m = re.exec(src); m; m = re.exec(src)) out.push((m[1] ?? m[2])!);
  return out;
}

function resolveSpec(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return resolve(dirname(from), spec).replace(/\.js$/, '.ts');
}

describe('the insecure test RNG is unreachable from production code', () => {
  it('no non-test module under daemons/src reaches a module whose name contains "insecure"', async () => {
    const files = await walk(daemonsSrc);
    const roots = files.filter((f) => !isTest(f) && !isInsecure(f));
    expect(roots.some((f) => f.endsWith('securefs/store.ts'))).toBe(true);
    const cache = new Map<string, string[]>();
    const edges = async (f: string): Promise<string[]> => {
      let e = cache.get(f);
      if (!e) {
        const src = await readFile(f, 'utf8').catch(() => '');
        e = specifiers(src)
          .map((s) => resolveSpec(f, s))
          .filter((x): x is string => x !== null);
        cache.set(f, e);
      }
      return e;
    };
    const offenders: string[] = [];
    for (const root of roots) {
      const seen = new Set<string>([root]);
      const stack: { f: string; chain: string[] }[] = [{ f: root, chain: [root] }];
      while (stack.length) {
        const { f, chain } = stack.pop()!;
        for (const dep of await edges(f)) {
          if (seen.has(dep)) continue;
          seen.add(dep);
          if (isInsecure(dep)) offenders.push([...chain, dep].map((x) => x.slice(daemonsSrc.length + 1)).join(' → '));
          else stack.push({ f: dep, chain: [...chain, dep] });
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the store API offers no way to inject randomness', async () => {
    const srcs = await Promise.all(
      (await readdir(here)).filter((f) => f.endsWith('.ts') && !isTest(f) && !isInsecure(f)).map((f) => readFile(join(here, f), 'utf8')),
    );
    for (const src of srcs) {
      expect(src).not.toMatch(/\b(rng|random|nonceSource|seed)\??\s*:/i); // no such option/field in any interface
    }
    const rng = await readFile(join(here, 'rng.ts'), 'utf8');
    expect(rng).toMatch(/from 'node:crypto'/);
    expect(rng).not.toMatch(/import .*insecure/);
  });

  it('the scanner itself catches a violation', () => {
    expect(specifiers("import { x } from './insecure-test-rng.js';\nexport * from \"./a.js\";\nawait import('./b.js')")).toEqual([
      './insecure-test-rng.js',
      './a.js',
      './b.js',
    ]);
  });
});
