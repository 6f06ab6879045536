/**
 * Start one crypt worker thread.
 *
 * In the built tree (`dist/`) the entry is `crypt-worker.js` next to this module. When this module
 * runs from TypeScript sources (vitest runs `src/` directly and worker threads do not inherit its
 * transform), there is no `.js` file: we then transpile this folder's `.ts` files once (with the
 * `typescript` dev dependency) and start the worker through a tiny module-hooks loader serving them. The loader is never
 * used when `crypt-worker.js` exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CryptWorkerOptions } from './worker-protocol.js';

const JS_ENTRY = new URL('./crypt-worker.js', import.meta.url);
const TS_ENTRY = new URL('./crypt-worker.ts', import.meta.url);

/** ESM loader hooks (Node ≥ 20.6 `module.register`): serve pre-transpiled sources for this folder. */
const DEV_LOADER = `
let sources;
export async function initialize(data) { sources = new Map(Object.entries(data.sources)); }
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL && sources.has(context.parentURL)) {
    const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL).href;
    if (sources.has(ts)) return { url: ts, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  const source = sources.get(url);
  return source === undefined ? next(url, context) : { format: 'module', source, shortCircuit: true };
}
`;

let devSources: Record<string, string> | undefined;

/** Transpile this folder's non-test .ts files once per process (the typescript package is a dev dependency). */
function transpileFolder(): Record<string, string> {
  if (devSources) return devSources;
  type Ts = typeof import('typescript');
  const ts = createRequire(import.meta.url)('typescript') as Ts;
  const dir = new URL('.', import.meta.url);
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.d.ts')) continue;
    const url = new URL(name, dir);
    out[url.href] = ts.transpileModule(readFileSync(url, 'utf8'), {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    }).outputText;
  }
  devSources = out;
  return out;
}

// Only dynamic import(): the eval'd script is CommonJS or ESM depending on the inherited --input-type.
const DEV_BOOTSTRAP = `
Promise.all([import('node:worker_threads'), import('node:module')])
  .then(([{ workerData }, { register }]) => {
    register(workerData.loader, { data: { sources: workerData.sources } });
    return import(workerData.entry);
  })
  .catch((e) => setImmediate(() => { throw e; }));
`;

/** Start a worker; `options` reach it as `workerData.crypt`. */
export function spawnCryptWorker(options: CryptWorkerOptions = {}): Worker {
  if (existsSync(fileURLToPath(JS_ENTRY))) return new Worker(JS_ENTRY, { workerData: { crypt: options } });
  if (existsSync(fileURLToPath(TS_ENTRY))) {
    return new Worker(DEV_BOOTSTRAP, {
      eval: true,
      workerData: { loader: `data:text/javascript,${encodeURIComponent(DEV_LOADER)}`, sources: transpileFolder(), entry: TS_ENTRY.href, crypt: options },
    });
  }
  throw new Error(`crypt worker entry not found next to ${fileURLToPath(import.meta.url)}`);
}
