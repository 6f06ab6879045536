import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedRoot, spawnDaemon, type SpawnedDaemon } from '@redbear/daemons/runtime';

/**
 * `redbear-selftest --start-stack`: the four daemons in a fresh temporary root seeded with no
 * human user (first boot), with test-safe commands: a recording session command that stays
 * alive for a bounded time, no VT switching, no power actions, a UI that only idles.
 */

export const STACK = [
  { name: 'keystored', socket: '/run/redbear-keystored.sock' },
  { name: 'authd', socket: '/run/redbear-authd.sock' },
  { name: 'sessiond', socket: '/run/redbear-sessiond.sock' },
  { name: 'greeterd', socket: '/run/redbear-greeterd.sock' },
] as const;
export type StackDaemon = (typeof STACK)[number]['name'];

/** The file the recording session command writes into XDG_RUNTIME_DIR. */
export const RECORD_FILE = 'redbear-selftest.rec';

/** Stays alive for at most 10 minutes, so nothing outlives a crashed selftest for long. */
export const RECORDING_SESSION = [
  '/bin/sh',
  '-c',
  `echo "uid=$(id -u) gid=$(id -g) pid=$$ user=$USER session=$XDG_SESSION_ID" > "$XDG_RUNTIME_DIR/${RECORD_FILE}"; exec sleep 600`,
];

type Table = { [k: string]: unknown };

export function stackConfigs(): Record<StackDaemon, Table> {
  return {
    keystored: {},
    authd: {
      hashing: { sha512_rounds: 5000 },
      power: { shutdown: ['/bin/true'], reboot: ['/bin/true'] },
    },
    sessiond: {
      session: { command: RECORDING_SESSION, dbus_run_session: '' },
      vt: { switch_command: [] },
      lock: { idle_timeout_s: 0 },
    },
    greeterd: {
      ui: { command: ['{node}', '-e', 'setInterval(() => {}, 1 << 30)'], cwd: '/' },
      commands: { activate_vt: [], console_fallback: [] },
    },
  };
}

const isTable = (v: unknown): v is Table => v !== null && typeof v === 'object' && !Array.isArray(v);

/** TOML for a config object: scalars and arrays as JSON (valid TOML), nested objects as tables. */
export function toToml(obj: Table, prefix: string[] = []): string {
  const lines: string[] = [];
  const tables: Array<[string, Table]> = [];
  for (const [k, v] of Object.entries(obj)) {
    if (!/^[A-Za-z0-9_-]+$/.test(k)) throw new Error(`config key ${JSON.stringify(k)} is not a bare TOML key`);
    if (isTable(v)) tables.push([k, v]);
    else lines.push(`${k} = ${JSON.stringify(v)}`);
  }
  let out = '';
  if (lines.length) out += (prefix.length ? `[${prefix.join('.')}]\n` : '') + lines.join('\n') + '\n';
  for (const [k, t] of tables) out += toToml(t, [...prefix, k]);
  return out;
}

/**
 * `--stack-set DAEMON.TABLE.KEY=VALUE`: VALUE is JSON (a string that is not JSON is taken as a
 * string). Applied over the test-safe configuration of the stack the selftest starts.
 */
export function applyStackSet(configs: Record<StackDaemon, Table>, spec: string): void {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`--stack-set ${spec}: expected DAEMON.KEY=VALUE`);
  const keys = spec.slice(0, eq).split('.');
  const raw = spec.slice(eq + 1);
  const daemon = keys.shift() as StackDaemon;
  if (!STACK.some((d) => d.name === daemon)) throw new Error(`--stack-set ${spec}: unknown daemon ${daemon} (${STACK.map((d) => d.name).join(', ')})`);
  if (keys.length === 0 || keys.some((k) => !/^[A-Za-z0-9_-]+$/.test(k))) throw new Error(`--stack-set ${spec}: bad key`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let t = configs[daemon];
  for (const k of keys.slice(0, -1)) {
    if (!isTable(t[k])) t[k] = {};
    t = t[k] as Table;
  }
  t[keys[keys.length - 1]!] = value;
}

/** daemons/dist of the @redbear/daemons package this CLI runs with (repository or install). */
export function daemonsDist(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.resolve('@redbear/daemons/runtime'))), '..');
}

function assetsDir(dist: string): string | undefined {
  // Repository: <repo>/assets; install: <prefix>/lib/redbear-greeter/daemons/dist → <prefix>/share/redbear/greeter.
  const candidates = [path.resolve(dist, '../../assets'), path.resolve(dist, '../../../../share/redbear/greeter')];
  return candidates.find((d) => existsSync(path.join(d, 'background.png')));
}

export interface Stack {
  root: string;
  daemons: SpawnedDaemon[];
  /** Stop every daemon (reverse order), then remove the root unless keepRoot. */
  stop(keepRoot: boolean): Promise<void>;
}

export async function startStack(configs: Record<StackDaemon, Table>, log: (s: string) => void): Promise<Stack> {
  const dist = daemonsDist();
  const root = mkdtempSync(path.join(tmpdir(), 'redbear-selftest-'));
  const assets = assetsDir(dist);
  await seedRoot(root, assets ? { assetsDir: assets } : {});
  const confDir = path.join(root, 'etc/redbear/selftest');
  mkdirSync(confDir, { recursive: true, mode: 0o700 });
  const running: SpawnedDaemon[] = [];
  const stop = async (keepRoot: boolean) => {
    for (const d of [...running].reverse()) await d.stop().catch(() => undefined);
    running.length = 0;
    if (!keepRoot) rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const d of STACK) {
      const main = path.join(dist, d.name, 'main.js');
      if (!existsSync(main)) throw new Error(`${main} does not exist (is redbear-${d.name} built/installed?)`);
      const file = path.join(confDir, `${d.name}.toml`);
      writeFileSync(file, `# redbear-selftest --start-stack: test-safe ${d.name} configuration\n` + toToml(configs[d.name]), { mode: 0o600 });
      const spawned = await spawnDaemon({
        name: `redbear-${d.name}`,
        main,
        args: ['--root', root, '--config', file, '--log-file', path.join(root, 'var/log/redbear', `${d.name}.log`)],
        readyTimeoutMs: 30_000,
      });
      running.push(spawned);
      log(`started redbear-${d.name} (pid ${spawned.child.pid ?? '?'})`);
    }
  } catch (e) {
    const output = (e as { output?: string }).output;
    await stop(false);
    const tail = output ? `: ${output.trim().split('\n').slice(-3).join(' | ')}` : '';
    throw new Error(`${(e as Error).message}${tail}`, { cause: e });
  }
  return { root, daemons: running, stop };
}
