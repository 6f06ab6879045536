import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
// @ts-expect-error plain ESM module without types
import { allowed, layerOf } from './eslint-plugin-layers.mjs';

const repo = path.resolve(import.meta.dirname, '..');
const fixtures = path.join(import.meta.dirname, 'fixtures/layer-violations');

describe('layer rule', () => {
  const eslint = new ESLint({ cwd: repo, ignore: false });
  for (const f of readdirSync(fixtures).filter((f) => f.endsWith('.ts'))) {
    it(`fails the deliberate violation ${f}`, async () => {
      const text = readFileSync(path.join(fixtures, f), 'utf8');
      const as = /^\/\/ as: (\S+)/.exec(text)![1]!;
      const [result] = await eslint.lintText(text, { filePath: path.join(repo, as) });
      const layerErrors = result!.messages.filter((m) => m.ruleId === 'layers/imports');
      expect(layerErrors.length).toBeGreaterThan(0);
      expect(result!.errorCount).toBeGreaterThan(0);
    });
  }

  it('allows what the map allows', () => {
    expect(layerOf('daemons/src/authd/main.ts')).toBe('daemon:authd');
    expect(allowed('daemon:authd', 'lib:crypt')).toBe(true);
    expect(allowed('daemon:authd', 'daemon:sessiond')).toBe(false);
    expect(allowed('renderer', 'protocol-common')).toBe(true);
    expect(allowed('renderer', 'protocol-node')).toBe(false);
    expect(allowed('protocol-common', 'npm:@sinclair/typebox')).toBe(true);
    expect(allowed('cli', 'daemon:authd')).toBe(false);
  });
});
