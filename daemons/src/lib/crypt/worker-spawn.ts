/**
 * Start one crypt worker thread.
 *
 * In the built tree (`dist/`) the entry is `crypt-worker.js` next to this module. When this module
 * runs from TypeScript sources (vitest runs `src/` directly and worker threads do not inherit its
 * transform), there is no `.js` file: we then start the worker through a tiny module-hooks loader
 * that transpiles this folder's `.ts` files with the `typescript` dev dependency. The loader is never
 * used when `crypt-worker.js` exists.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const JS_ENTRY = new URL('./crypt-worker.js', import.meta.url);
const TS_ENTRY = new URL('./crypt-worker.ts', import.meta.url);

/** ESM loader hooks (Node ≥ 20.6 `module.register`): `.js` → sibling `.ts`, `.ts` → transpiled ESM. */
const DEV_LOADER = `
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
let ts;
export async function initialize(data) { ts = (await import(data.typescript)).default; }
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    const js = new URL(specifier, context.parentURL);
    const tsUrl = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    if (!existsSync(fileURLToPath(js)) && existsSync(fileURLToPath(tsUrl))) return { url: tsUrl.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const src = await readFile(fileURLToPath(url), 'utf8');
    const out = ts.transpileModule(src, {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
    });
    return { format: 'module', source: out.outputText, shortCircuit: true };
  }
  return next(url, context);
}
`;

// Only dynamic import(): the eval'd script is CommonJS or ESM depending on the inherited --input-type.
const DEV_BOOTSTRAP = `
Promise.all([import('node:worker_threads'), import('node:module')])
  .then(([{ workerData }, { register }]) => {
    register(workerData.loader, { data: { typescript: workerData.typescript } });
    return import(workerData.entry);
  })
  .catch((e) => setImmediate(() => { throw e; }));
`;

export function spawnCryptWorker(): Worker {
  if (existsSync(fileURLToPath(JS_ENTRY))) return new Worker(JS_ENTRY);
  if (existsSync(fileURLToPath(TS_ENTRY))) {
    const typescript = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
    return new Worker(DEV_BOOTSTRAP, {
      eval: true,
      workerData: { loader: `data:text/javascript,${encodeURIComponent(DEV_LOADER)}`, typescript, entry: TS_ENTRY.href },
    });
  }
  throw new Error(`crypt worker entry not found next to ${fileURLToPath(import.meta.url)}`);
}
