import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { FAST_KEYSTORED_TOML, makeRoot, recordingDir, REPO, startDaemon, type TestRoot, type TestUser } from '../test/harness/index.js';
import { ProtocolClient } from '../protocol/src/node/index.js';

/**
 * The real stack for the end-to-end suite: keystored → authd → sessiond → greeterd in a
 * temporary root, greeterd running the web shell as its UI, Chromium (playwright-core) driving
 * the page. Everything that would touch the host (VT switches, power, the desktop session) is
 * replaced by small recording scripts under <root>/e2e-rec/.
 */

const exec = promisify(execFile);
export const ARTIFACTS = path.join(REPO, 'e2e/artifacts');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const DAEMONS = ['keystored', 'authd', 'sessiond', 'greeterd'] as const;
type Name = (typeof DAEMONS)[number];
type Daemon = Awaited<ReturnType<typeof startDaemon>>;

/** Whether everything the suite needs is present (built daemons, web shell, renderer, Chromium). */
export function e2eReady(): { ok: boolean; why: string } {
  const need = [
    ...DAEMONS.map((d) => `daemons/dist/${d}/main.js`),
    'daemons/dist/session-launch/main.js',
    'electron/dist/web-shell/main.js',
    'renderer/dist/index.html',
    'cli/dist/nx-session/main.js',
  ].filter((f) => !existsSync(path.join(REPO, f)));
  if (need.length) return { ok: false, why: `not built: ${need.join(', ')} (npm run build)` };
  if (!existsSync(CHROMIUM)) return { ok: false, why: `${CHROMIUM} missing` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'the real stack needs root (sessions drop privileges)' };
  return { ok: true, why: '' };
}

// Cheap KDFs: the suite tests behaviour, not cost. Throttling stays real, only shorter.
const KEYSTORED_TOML = FAST_KEYSTORED_TOML;

function authdToml(rec: string): string {
  return `
[hashing]
sha512_rounds = 5000
[throttle]
failure_delay_ms = 150
max_failures = 3
lockout_ms = 6000
lockout_max_ms = 12000
[pin]
memory_kib = 1024
time_cost = 1
[power]
shutdown = ["${rec}/power.sh", "poweroff"]
reboot = ["${rec}/power.sh", "reboot"]
timeout_ms = 5000
`;
}

function sessiondToml(rec: string): string {
  return `
[session]
command = ["${rec}/session.sh"]
dbus_run_session = ""
start_timeout_ms = 15000
logout_grace_ms = 2000
leader_poll_ms = 100
[lock]
idle_timeout_s = 0
[vt]
switch_command = ["${rec}/vt.sh", "sessiond", "{vt}"]
`;
}

function greeterdToml(rec: string, opts: StackOptions): string {
  return `
markers = true
power_settle_timeout_ms = ${opts.powerSettleMs ?? 60_000}
[ui]
command = ["{node}", "electron/dist/web-shell/main.js", "--root", "{root}", "--url-file", "{root}/run/redbear-greeter/ui-url"]
cwd = ${JSON.stringify(REPO)}
restart_delay_ms = 200
stop_timeout_ms = 2000
[commands]
activate_vt = ["${rec}/vt.sh", "greeterd", "{vt}"]
console_fallback = ["${rec}/vt.sh", "greeterd-console", "2"]
[authd]
timeout_ms = 3000
auth_timeout_ms = 15000
`;
}

/** The desktop session stand-in: records who it runs as and its environment, then idles until killed. */
const SESSION_SH = (rec: string) => `#!/bin/sh
u="\${USER:-unknown}"
env | sort > "${rec}/session-$u.env"
echo "started user=$u uid=$(id -u) gid=$(id -g) pid=$$ sid=\${XDG_SESSION_ID:-}" >> "${rec}/sessions.log"
trap 'echo "ended user=$u uid=$(id -u)" >> "${rec}/sessions.log"; exit 0' TERM
sleep 600 &
echo "child user=$u pid=$!" >> "${rec}/sessions.log"
wait
`;
const RECORD_SH = (file: string) => `#!/bin/sh\necho "$*" >> "${file}"\n`;

export interface SessionInfo {
  sid: string;
  username: string;
  uid: number;
  state: string;
  vt: number;
}

export interface Stack {
  root: TestRoot;
  rec: string;
  browser: Browser;
  page: Page;
  /** Current UI URL (changes each time greeterd restarts the UI). */
  url: string;
  stdout(name: Name): string;
  /** Wait for a line on greeterd's stdout (markers), counting only output after `from`. */
  waitForOutput(name: Name, text: string | RegExp, from?: number, timeoutMs?: number): Promise<void>;
  /** Open the newest UI URL in the page (waits until it differs from `previous`). */
  openUi(previous?: string, timeoutMs?: number): Promise<string>;
  sessions(): Promise<SessionInfo[]>;
  waitForSession(pred: (s: SessionInfo[]) => boolean, what: string, timeoutMs?: number): Promise<SessionInfo[]>;
  nxSession(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Lines of the recording session command (`started user=… uid=…`). */
  sessionLog(): string[];
  powerLog(): string[];
  /** Processes the session commands started that are still alive (none once every session ended). */
  leftovers(): number[];
  stop(name: Name, signal?: NodeJS.Signals): Promise<void>;
  start(name: Name): Promise<void>;
  authClient(): Promise<ProtocolClient>;
  /** Screenshot to e2e/artifacts/<name>.png and an axe audit: returns serious/critical violations. */
  shoot(name: string): Promise<string[]>;
  /** Every daemon's output and every log file in the root. */
  allOutput(): Record<string, string>;
  /** Stop everything; all daemon output and root logs are kept in e2e/artifacts/<logName>.log. */
  cleanup(logName?: string): Promise<void>;
}

export async function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 15_000, stepMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export interface StackOptions {
  /** greeterd's power_settle_timeout_ms: the recording power command never takes the machine down. */
  powerSettleMs?: number;
}

export async function startStack(users: TestUser[] = [], opts: StackOptions = {}): Promise<Stack> {
  const root = await makeRoot(users.map((u) => ({ rounds: 5000, ...u })));
  const { dir: rec, script } = recordingDir(root, '/e2e-rec');
  script('session.sh', SESSION_SH(rec));
  script('power.sh', RECORD_SH(path.join(rec, 'power.log')));
  script('vt.sh', RECORD_SH(path.join(rec, 'vt.log')));
  const configs: Record<Name, string> = {
    keystored: KEYSTORED_TOML,
    authd: authdToml(rec),
    sessiond: sessiondToml(rec),
    greeterd: greeterdToml(rec, opts),
  };
  const running = new Map<Name, Daemon>();
  const previous: Record<string, string> = {};
  let generation = 0;
  const start = async (name: Name) => {
    const d = await startDaemon(name, { root: root.dir, config: configs[name], extraArgs: ['--log-file', root.path(`/var/log/e2e-${name}.log`)] });
    running.set(name, d);
  };
  const stop = async (name: Name, signal: NodeJS.Signals = 'SIGTERM') => {
    const d = running.get(name);
    if (!d) return;
    if (signal === 'SIGTERM') await d.stop(3000);
    else {
      d.child.kill(signal);
      await d.exited;
    }
    previous[`${name}#${generation++}`] = d.stdout() + d.stderr();
    running.delete(name);
  };
  const urlFile = root.path('/run/redbear-greeter/ui-url');
  const readUrl = () => {
    try {
      return readFileSync(urlFile, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const started: Name[] = [];
  let browser: Browser | undefined;
  try {
    for (const n of DAEMONS) {
      await start(n);
      started.push(n);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  } catch (e) {
    for (const n of started.reverse()) await stop(n).catch(() => undefined);
    await browser?.close();
    root.cleanup();
    throw e;
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await context.newPage();
  mkdirSync(ARTIFACTS, { recursive: true });

  const stack: Stack = {
    root,
    rec,
    browser,
    page,
    url: '',
    stdout: (name) => running.get(name)?.stdout() ?? '',
    async waitForOutput(name, text, from = 0, timeoutMs = 15_000) {
      await until(() => {
        const out = stack.stdout(name).slice(from);
        return typeof text === 'string' ? out.includes(text) : text.test(out);
      }, `${name} to print ${String(text)}`, timeoutMs);
    },
    async openUi(prev = stack.url, timeoutMs = 20_000) {
      const url = await until(() => {
        const u = readUrl();
        return u !== '' && u !== prev ? u : '';
      }, 'a new UI URL', timeoutMs);
      // about:blank first: a URL differing only in its #token would be a same-document navigation.
      await page.goto('about:blank');
      await page.goto(url);
      stack.url = url;
      return url;
    },
    async nxSession(...args) {
      try {
        const r = await exec(process.execPath, [path.join(REPO, 'cli/bin/nx-session'), '--root', root.dir, ...args], { encoding: 'utf8', timeout: 20_000 });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        const x = e as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
      }
    },
    async sessions() {
      const r = await stack.nxSession('list', '--json');
      if (r.code !== 0) throw new Error(`nx-session list failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as SessionInfo[];
    },
    async waitForSession(pred, what, timeoutMs = 20_000) {
      return until(async () => {
        const s = await stack.sessions();
        return pred(s) ? s : null;
      }, what, timeoutMs, 150);
    },
    sessionLog: () => (existsSync(path.join(rec, 'sessions.log')) ? readFileSync(path.join(rec, 'sessions.log'), 'utf8').split('\n').filter(Boolean) : []),
    powerLog: () => (existsSync(path.join(rec, 'power.log')) ? readFileSync(path.join(rec, 'power.log'), 'utf8').split('\n').filter(Boolean) : []),
    leftovers: () =>
      stack
        .sessionLog()
        .filter((l) => l.startsWith('child '))
        .map((l) => Number(/ pid=(\d+)/.exec(l)?.[1]))
        .filter((pid) => {
          // Only a live `sleep 600` is one of ours: the pid of a child that already ended may
          // belong to another process by now (pid_max is 32768 here; vitest forks a worker per
          // test file), and killing that one would take down an unrelated test.
          try {
            const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
            if (/^[ZX]$/.test(st.slice(st.lastIndexOf(')') + 2).split(' ')[0]!)) return false;
            return readFileSync(`/proc/${pid}/cmdline`, 'latin1') === 'sleep\x00600\x00';
          } catch {
            return false;
          }
        }),
    stop,
    start,
    authClient: () => ProtocolClient.connect({ iface: 'auth', socketPath: root.path('/run/redbear-authd.sock'), clientName: 'e2e' }),
    async shoot(name) {
      // Let transitions and the live region settle so the picture shows the screen, not a fade.
      await page.waitForTimeout(150);
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
      const result = await new AxeBuilder({ page }).analyze();
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${name}: ${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    },
    allOutput() {
      const out: Record<string, string> = { ...previous };
      for (const [n, d] of running) out[n] = d.stdout() + d.stderr();
      const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.isFile() && statSync(p).size < 8 * 1024 * 1024) out[p] = readFileSync(p, 'latin1');
        }
      };
      for (const d of ['/var/log', '/e2e-rec', '/run/redbear-sessiond', '/run/redbear-greeter', '/var/lib/redbear']) {
        if (existsSync(root.path(d))) walk(root.path(d));
      }
      return out;
    },
    async cleanup(logName) {
      await browser?.close().catch(() => undefined);
      // End whatever sessions a failed test left behind, then the daemons in reverse order.
      for (const s of await stack.sessions().catch(() => [] as SessionInfo[])) await stack.nxSession('logout', s.sid);
      for (const n of [...DAEMONS].reverse()) await stop(n).catch(() => undefined);
      for (const pid of stack.leftovers()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      if (logName) {
        const all = Object.entries(stack.allOutput()).filter(([, text]) => !text.includes('\0'));
        writeFileSync(path.join(ARTIFACTS, `${logName}.log`), all.map(([where, text]) => `===== ${where}\n${text}`).join('\n'));
      }
      root.cleanup();
    },
  };
  return stack;
}
