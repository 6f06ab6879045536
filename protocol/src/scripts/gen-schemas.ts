import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSchemas } from '../node/schema-files.js';

/** Regenerate schemas/*.schema.json from the TypeBox definitions. `--check` fails on drift. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const outDir = path.join(root, 'schemas');
const check = process.argv.includes('--check');
const files = renderSchemas();
let stale = 0;
await fs.mkdir(outDir, { recursive: true });
for (const [name, text] of Object.entries(files)) {
  const file = path.join(outDir, name);
  const current = await fs.readFile(file, 'utf8').catch(() => null);
  if (current === text) continue;
  if (check) {
    console.error(`stale: schemas/${name}`);
    stale++;
  } else {
    await fs.writeFile(file, text);
    console.log(`wrote schemas/${name}`);
  }
}
if (stale) {
  console.error('run `npm run schemas` to regenerate');
  process.exit(1);
}
