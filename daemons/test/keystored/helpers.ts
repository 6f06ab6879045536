import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAST_KEYSTORED_TOML, makeRoot, REPO, startDaemon, type TestRoot } from '../../../test/harness/index.js';
import { KeystoreClient } from '../../src/lib/keystore-client/index.js';

export const FAST_CONFIG = FAST_KEYSTORED_TOML;

export type Keystored = Awaited<ReturnType<typeof startDaemon>>;

export interface Env {
  root: TestRoot;
  daemon: Keystored;
  client: KeystoreClient;
  config: string;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startEnv(extraConfig = ''): Promise<Env> {
  const root = await makeRoot();
  // Extra settings first: their top-level keys must precede the tables of FAST_CONFIG.
  const config = extraConfig + FAST_CONFIG;
  const env: Env = {
    root,
    config,
    daemon: await startDaemon('keystored', { root: root.dir, config }),
    client: null as unknown as KeystoreClient,
    async restart() {
      env.client.close();
      await env.daemon.stop();
      env.daemon = await startDaemon('keystored', { root: root.dir, config });
      env.client = new KeystoreClient({ socketPath: env.daemon.socket });
    },
    async cleanup() {
      env.client.close();
      await env.daemon.stop();
      root.cleanup();
    },
  };
  env.client = new KeystoreClient({ socketPath: env.daemon.socket });
  return env;
}

export function recordFile(env: Env, uid: number): string {
  return path.join(env.root.dir, 'var/lib/redbear/keystore/users', `${uid}.json`);
}

export function editRecord(env: Env, uid: number, fn: (rec: Record<string, unknown> & { protectors: Array<Record<string, unknown>> }) => void): void {
  const f = recordFile(env, uid);
  const rec = JSON.parse(readFileSync(f, 'utf8'));
  fn(rec);
  writeFileSync(f, JSON.stringify(rec));
}

export const pw = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Expect a promise to reject with a ProtocolError of this code. */
export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `non-protocol: ${(e as Error).message}`;
  }
  return 'resolved';
}

const NX_HOME = path.join(REPO, 'cli/bin/nx-home');

/** Run the real nx-home CLI; resolves with its exit code and output. */
export function nxHome(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [NX_HOME, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    c.stdin.end(stdin);
  });
}
