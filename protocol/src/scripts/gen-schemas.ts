import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSchemas } from '../node/schema-files.js';
import { renderProtocolDoc } from '../node/protocol-doc.js';

/** Regenerate schemas/*.schema.json from the TypeBox definitions. `--check` fails on drift. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const outDir = path.join(root, 'schemas');
const check = process.argv.includes('--check');
const files = renderSchemas();
let stale = 0;
const targets: Array<[string, string]> = Object.entries(files).map(([n, t]) => [path.join(outDir, n), t]);
targets.push([path.join(root, 'docs/protocol.md'), renderProtocolDoc()]);
await fs.mkdir(outDir, { recursive: true });
for (const [file, text] of targets) {
  const name = path.relative(root, file);
  const current = await fs.readFile(file, 'utf8').catch(() => null);
  if (current === text) continue;
  if (check) {
    console.error(`stale: ${name}`);
    stale++;
  } else {
    await fs.writeFile(file, text);
    console.log(`wrote ${name}`);
  }
}
if (stale) {
  console.error('run `npm run schemas` to regenerate');
  process.exit(1);
}
