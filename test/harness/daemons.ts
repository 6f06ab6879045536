import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProtocolClient } from '../../protocol/src/node/index.js';
import type { InterfaceName } from '../../protocol/src/common/index.js';
import { spawnDaemon, type SpawnedDaemon } from '../../daemons/src/supervisor/spawn-daemon.js';
import { DAEMONS, type DaemonName } from '../../daemons/src/supervisor/daemons.js';
import { REPO } from './root.js';

export interface StartOptions {
  root: string;
  /** TOML text written to a file and passed as --config. */
  config?: string;
  env?: NodeJS.ProcessEnv;
  extraArgs?: string[];
}

/** Start a real daemon (the built JS) in a root and wait for READY. */
export async function startDaemon(name: DaemonName, opts: StartOptions): Promise<SpawnedDaemon & { socket: string }> {
  const main = path.join(REPO, 'daemons/dist', name, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is not built: run npm run build`);
  const args = ['--root', opts.root, '--log-level', 'debug', ...(opts.extraArgs ?? [])];
  if (opts.config !== undefined) {
    const file = path.join(opts.root, `${name}.test.toml`);
    writeFileSync(file, opts.config);
    args.push('--config', file);
  }
  const d = await spawnDaemon({ name, main, args, env: { ...process.env, ...opts.env } });
  const spec = DAEMONS.find((x) => x.name === name)!;
  return Object.assign(d, { socket: path.join(opts.root, spec.socket) });
}

/** A v2 client on a daemon's socket. */
export function connect(iface: InterfaceName, socketPath: string): Promise<ProtocolClient> {
  return ProtocolClient.connect({ iface, socketPath, clientName: 'test' });
}

/** Fail when any of the secrets appears in any of the texts (logs, stdout, files). */
export function assertNoSecrets(texts: Record<string, string>, secrets: string[]): void {
  for (const [where, text] of Object.entries(texts)) {
    for (const s of secrets) {
      if (s.length >= 4 && text.includes(s)) throw new Error(`secret found in ${where}`);
    }
  }
}

/** keystored with cheap KDFs: tests check behaviour, not cost (production: m = 64 MiB, t = 3). */
export const FAST_KEYSTORED_TOML = `
[password_kdf]
memory_kib = 8192
time_cost = 1
parallelism = 1

[pin_kdf]
memory_kib = 8192
time_cost = 1
parallelism = 1
`;
