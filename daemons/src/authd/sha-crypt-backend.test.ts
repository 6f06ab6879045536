/**
 * `[hashing] sha_crypt_backend` and `worker_nice` in redbear-authd: validated, reported at
 * start-up, applied. The real daemon (dist/) for what the configuration does; authd started in
 * this process for libxcrypt made unavailable (its crypt workers are given no library to load).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ProtocolClient } from '../../../protocol/src/node/index.js';
import { connect, makeRoot, startDaemon, type TestRoot } from '../../../test/harness/index.js';
import { codeOf, testConfig } from '../../test/authd/helpers.js';
import { parseConfig } from '../runtime/config.js';
import { createLogger } from '../runtime/logger.js';
import { Root } from '../runtime/root.js';
import type { SpawnedDaemon } from '../runtime/spawn-daemon.js';
import { AUTHD_DEFAULTS, AuthdConfigSchema, type AuthdConfig } from './config.js';
import { startAuthd as startAuthdInProcess, type AuthdService } from './service.js';

const USERS = [
  { name: 'sam', password: 'Sam-Password-1', method: 'sha-512' as const, rounds: 5000 },
  { name: 'tess', password: 'Tess-Password-1', method: 'sha-256' as const },
];

let d: SpawnedDaemon | null = null;
let svc: AuthdService | null = null;
const roots: TestRoot[] = [];
afterEach(async () => {
  await d?.stop();
  d = null;
  await svc?.close();
  svc = null;
  for (const r of roots.splice(0)) r.cleanup();
});

/** The tests' authd configuration (helpers.ts) with extra `[hashing]` keys. */
function config(dir: string, hashing: string): string {
  const { toml } = testConfig(dir);
  if (!toml.includes('[hashing]\n')) throw new Error('testConfig has no [hashing] table');
  return toml.replace('[hashing]\n', `[hashing]\n${hashing}\n`);
}

async function startReal(hashing = ''): Promise<{ daemon: SpawnedDaemon & { socket: string }; logs: () => string }> {
  const root = await makeRoot(USERS);
  roots.push(root);
  const daemon = await startDaemon('authd', { root: root.dir, config: config(root.dir, hashing) });
  d = daemon;
  return { daemon, logs: () => daemon.stdout() + daemon.stderr() };
}

/** The JSON log record with this message. */
function record(logs: string, msg: string): Record<string, unknown> | undefined {
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as Record<string, unknown>;
    if (r.msg === msg) return r;
  }
  return undefined;
}

async function logins(client: ProtocolClient): Promise<string[]> {
  const attempt = (username: string, password: string) => codeOf(client.request({ type: 'authenticate', username, password, vt: 1, purpose: 'login' }));
  return [await attempt('sam', 'Sam-Password-1'), await attempt('tess', 'Tess-Password-1'), await attempt('sam', 'sam-password-1'), await attempt('tess', 'nope')];
}

/** nice (field 19 of /proc/<pid>/task/<tid>/stat) of every thread of a process. */
function threadNices(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

describe('redbear-authd (built daemon)', () => {
  test('default: $6$/$5$ verified by libxcrypt, reported at start-up; KDF workers (only) at nice 10', async () => {
    const { daemon, logs } = await startReal();
    const hashing = record(logs(), 'password hashing');
    expect(hashing).toMatchObject({ sha_crypt_backend: 'libxcrypt', sha_crypt_backend_configured: 'auto', worker_nice: 10 });
    expect(String(hashing?.libxcrypt)).toMatch(/libcrypt\.so\.1/);
    const c = await connect('auth', daemon.socket);
    expect(await logins(c)).toEqual(['ok', 'ok', 'auth_failed', 'auth_failed']);
    c.close();
    const pid = daemon.child.pid!;
    const nices = threadNices(pid);
    expect(nices.get(pid)).toBe(0); // the event loop
    expect([...nices.values()].filter((n) => n === 10).length).toBe(hashing?.workers);
    expect([...nices.values()].every((n) => n === 0 || n === 10)).toBe(true);
  });

  test('sha_crypt_backend = "builtin", worker_nice = 0', async () => {
    const { daemon, logs } = await startReal('sha_crypt_backend = "builtin"\nworker_nice = 0');
    expect(record(logs(), 'password hashing')).toMatchObject({ sha_crypt_backend: 'builtin', sha_crypt_backend_configured: 'builtin', worker_nice: 0 });
    const c = await connect('auth', daemon.socket);
    expect(await logins(c)).toEqual(['ok', 'ok', 'auth_failed', 'auth_failed']);
    c.close();
    expect([...threadNices(daemon.child.pid!).values()].every((n) => n === 0)).toBe(true);
  });

  test('sha_crypt_backend = "libxcrypt" starts when libxcrypt loads', async () => {
    const { daemon, logs } = await startReal('sha_crypt_backend = "libxcrypt"');
    expect(record(logs(), 'password hashing')).toMatchObject({ sha_crypt_backend: 'libxcrypt', sha_crypt_backend_configured: 'libxcrypt' });
    const c = await connect('auth', daemon.socket);
    expect(await logins(c)).toEqual(['ok', 'ok', 'auth_failed', 'auth_failed']);
    c.close();
  });

  test.each([['sha_crypt_backend = "openssl"'], ['sha_crypt_backend = 1'], ['worker_nice = 20'], ['worker_nice = -1']])(
    'invalid [hashing] %s: the daemon refuses to start',
    async (line) => {
      const err = await startReal(line).then(
        () => null,
        (e: unknown) => e as Error & { output?: string },
      );
      expect(err).not.toBeNull();
      expect(err!.output ?? err!.message).toMatch(/hashing/);
    },
  );
});

describe('authd without libxcrypt (in process)', () => {
  async function start(hashing: string): Promise<{ svc: Promise<AuthdService>; lines: string[]; root: TestRoot }> {
    const root = await makeRoot(USERS);
    roots.push(root);
    const cfg: AuthdConfig = parseConfig(AuthdConfigSchema, AUTHD_DEFAULTS, config(root.dir, hashing), 'test');
    const lines: string[] = [];
    const log = createLogger({ name: 'redbear-authd', level: 'debug', write: (l) => void lines.push(l) });
    const args = { root: root.dir, config: undefined, readyFd: undefined, logLevel: undefined, logFile: undefined, help: false };
    const started = startAuthdInProcess({ name: 'redbear-authd', root: new Root(root.dir), config: cfg, log, args }, { libxcryptCandidates: [] });
    return { svc: started, lines, root };
  }

  test('auto falls back to the built-in implementation, says so, and logins work', async () => {
    const s = await start('');
    svc = await s.svc;
    expect(svc.hashing).toMatchObject({ configured: 'auto', shaCrypt: 'builtin', libxcrypt: null });
    expect(svc.hashing.libxcryptError).toMatch(/could not be loaded/);
    const logs = s.lines.join('');
    expect(record(logs, 'password hashing')).toMatchObject({ sha_crypt_backend: 'builtin', sha_crypt_backend_configured: 'auto' });
    expect(logs).toContain('libxcrypt is unavailable');
    const c = await ProtocolClient.connect({ iface: 'auth', socketPath: path.join(s.root.dir, 'run/redbear-authd.sock') });
    expect(await logins(c)).toEqual(['ok', 'ok', 'auth_failed', 'auth_failed']);
    c.close();
  });

  test('sha_crypt_backend = "libxcrypt" refuses to start without libxcrypt', async () => {
    const s = await start('sha_crypt_backend = "libxcrypt"');
    await expect(s.svc).rejects.toThrow(/sha_crypt_backend = "libxcrypt" but libxcrypt is unavailable/);
  });
});
