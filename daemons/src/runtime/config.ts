import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import type { TObject, Static } from '@sinclair/typebox';
import { check } from '@redbear/protocol';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Plain = Record<string, unknown>;
function isPlain(v: unknown): v is Plain {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/** Deep merge: tables merge, everything else replaces. */
export function mergeConfig(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(v) && isPlain(base[k]) ? mergeConfig(base[k] as Plain, v) : v;
  }
  return out;
}

/** Parse TOML text into a config: defaults overridden by the file, then validated. */
export function parseConfig<S extends TObject>(schema: S, defaults: Static<S>, text: string, source: string): Static<S> {
  let data: Plain;
  try {
    data = parseToml(text) as Plain;
  } catch (e) {
    throw new ConfigError(`${source}: ${(e as Error).message.split('\n')[0]}`);
  }
  const merged = mergeConfig(defaults as Plain, data);
  const err = check(schema, merged);
  if (err) throw new ConfigError(`${source}: ${err.message}`);
  return merged as Static<S>;
}

/** Load `--config FILE` (or just the defaults when none is given). */
export function loadConfig<S extends TObject>(schema: S, defaults: Static<S>, file: string | undefined): Static<S> {
  if (!file) return parseConfig(schema, defaults, '', '(defaults)');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfig(schema, defaults, text, file);
}
