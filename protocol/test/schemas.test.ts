import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { renderSchemas } from '../src/node/schema-files.js';
import { renderProtocolDoc } from '../src/node/protocol-doc.js';

const dir = path.resolve(import.meta.dirname, '../../schemas');

describe('schemas/', () => {
  it('is generated from the current definitions (run `npm run schemas` when this fails)', () => {
    const want = renderSchemas();
    for (const [name, text] of Object.entries(want)) {
      expect(readFileSync(path.join(dir, name), 'utf8'), `schemas/${name} is stale`).toBe(text);
    }
    expect(readdirSync(dir).sort()).toEqual(Object.keys(want).sort());
  });

  it('docs/protocol.md lists every message of every socket', () => {
    expect(readFileSync(path.resolve(dir, '../docs/protocol.md'), 'utf8')).toBe(renderProtocolDoc());
  });
});
