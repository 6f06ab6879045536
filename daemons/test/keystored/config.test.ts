import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { REPO } from '../../../test/harness/index.js';
import { parseConfig } from '../../src/runtime/index.js';
import { KEYSTORED_DEFAULTS, KeystoredConfigSchema } from '../../src/keystored/config.js';

describe('config/defaults/keystored.toml', () => {
  const text = readFileSync(path.join(REPO, 'config/defaults/keystored.toml'), 'utf8');
  it('documents exactly the defaults of the config schema', () => {
    expect(parse(text)).toEqual(KEYSTORED_DEFAULTS);
  });
  it('validates against the schema', () => {
    expect(parseConfig(KeystoredConfigSchema, KEYSTORED_DEFAULTS, text, 'keystored.toml')).toEqual(KEYSTORED_DEFAULTS);
  });
  it('refuses TTLs above the design limits and unknown keys', () => {
    expect(() => parseConfig(KeystoredConfigSchema, KEYSTORED_DEFAULTS, 'grant_ttl_ms = 60000', 'x')).toThrow();
    expect(() => parseConfig(KeystoredConfigSchema, KEYSTORED_DEFAULTS, 'challenge_ttl_ms = 31000', 'x')).toThrow();
    expect(() => parseConfig(KeystoredConfigSchema, KEYSTORED_DEFAULTS, 'bogus = 1', 'x')).toThrow();
  });
});
