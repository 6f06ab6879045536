// Issue 8 item 3: install into a temporary DESTDIR with the documented command, start the four
// daemons from the DESTDIR copy through the installed wrappers, run the installed
// `redbear-greeter-check` (status mode) and `redbear-selftest` against that stack, uninstall.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRoot } from '../daemons/src/runtime/seed-root.js';
import { REPO, runInstall, tempDir } from './packaging/helpers.js';

const LIB = '/usr/lib/redbear-greeter';
const DAEMONS = ['keystored', 'authd', 'sessiond', 'greeterd'] as const;
const built = DAEMONS.every((d) => existsSync(path.join(REPO, 'daemons/dist', d, 'main.js'))) && existsSync(path.join(REPO, 'cli/dist'));
const isRoot = process.getuid?.() === 0;

/** Test-safe overrides (merged over the built-in defaults): no chvt, no power, no Electron. */
const CONFIGS: Record<(typeof DAEMONS)[number], string> = {
  keystored: '',
  authd: '[hashing]\nsha512_rounds = 5000\n[power]\nshutdown = ["/bin/true"]\nreboot = ["/bin/true"]\n',
  sessiond: '[session]\ncommand = ["/bin/sh", "-c", "exec sleep 600"]\ndbus_run_session = ""\n[vt]\nswitch_command = []\n[lock]\nidle_timeout_s = 0\n',
  greeterd: '[ui]\ncommand = ["{node}", "-e", "setInterval(() => {}, 1 << 30)"]\ncwd = "/"\n[commands]\nactivate_vt = []\nconsole_fallback = []\n',
};

interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
}

describe.skipIf(!built || !isRoot)('DESTDIR install → stack from the installed wrappers → redbear-greeter-check', () => {
  let dest: { dir: string; cleanup: () => void };
  let work: { dir: string; cleanup: () => void };
  const running: Running[] = [];
  const at = (p: string) => path.join(dest.dir, p);

  /**
   * An installed wrapper, pointed at the DESTDIR copy (it names the target path
   * /usr/lib/redbear-greeter/…, which is where it will live on the real system).
   */
  function localWrapper(name: string): string {
    const installed = at(`/usr/bin/${name}`);
    if (!existsSync(installed)) throw new Error(`the install wrote no /usr/bin/${name}`);
    const text = readFileSync(installed, 'utf8');
    expect(text).toContain(`'${LIB}/`);
    const local = path.join(work.dir, 'bin', name);
    writeFileSync(local, text.replaceAll(`'${LIB}/`, `'${at(LIB)}/`), { mode: 0o755 });
    return local;
  }

  /** `sh <wrapper> --root DEST --config FILE --ready-fd 3`, waiting for READY=1. */
  async function startFromWrapper(d: (typeof DAEMONS)[number]): Promise<Running> {
    const cfg = path.join(work.dir, `${d}.toml`);
    writeFileSync(cfg, CONFIGS[d]);
    const child = spawn('sh', [localWrapper(`redbear-${d}`), '--root', dest.dir, '--config', cfg, '--ready-fd', '3'], {
      cwd: '/',
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
    const r: Running = { name: d, child, output: () => out };
    running.push(r);
    await new Promise<void>((resolve, reject) => {
      let got = '';
      const timer = setTimeout(() => reject(new Error(`redbear-${d} not ready within 30 s:\n${out}`)), 30_000);
      (child.stdio[3] as Readable).setEncoding('utf8').on('data', (s: string) => {
        got += s;
        if (got.includes('READY=1')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redbear-${d} exited (${code}) before READY:\n${out}`));
      });
    });
    return r;
  }

  /** Run a command without blocking this process (it reads the daemons' output pipes). */
  function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const c = spawn(cmd, args, { cwd: '/', env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
      c.on('exit', (status) => {
        clearTimeout(t);
        resolve({ status, stdout, stderr });
      });
    });
  }

  async function stopAll(): Promise<void> {
    for (const r of running.reverse()) {
      if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
      const exited = new Promise((res) => r.child.once('exit', res));
      r.child.kill('SIGTERM');
      const t = setTimeout(() => r.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    running.length = 0;
  }

  beforeAll(async () => {
    dest = tempDir('install-stack');
    work = tempDir('install-stack-work');
    mkdirSync(path.join(work.dir, 'bin'));
    // The documented command (docs/install.md).
    runInstall(['--prefix', '/usr', '--destdir', dest.dir]);
    // The DESTDIR is the system root: account files with no human user, /run, /state.
    await seedRoot(dest.dir);
    for (const d of DAEMONS) await startFromWrapper(d);
  }, 120_000);

  afterAll(async () => {
    await stopAll().catch(() => undefined);
    work?.cleanup();
    dest?.cleanup();
  });

  it('the daemons run from the DESTDIR copy', () => {
    for (const r of running) {
      // sh exec'ed node: the pid is node running the installed main.js.
      const cmdline = readFileSync(`/proc/${r.child.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline[1], r.name).toBe(at(`${LIB}/daemons/dist/${r.name}/main.js`));
      expect(readlinkSync(`/proc/${r.child.pid}/exe`)).toMatch(/node/);
      expect(existsSync(at(`/run/redbear-${r.name}.sock`)), r.name).toBe(true);
    }
  });

  it('the installed redbear-greeter-check (status mode) passes against it', async () => {
    const r = await runAsync('sh', [localWrapper('redbear-greeter-check'), '--root', dest.dir], 60_000);
    expect(r.status, `${r.stdout}\n${r.stderr}\n${running.map((d) => d.output()).join('\n')}`).toBe(0);
    expect(r.stdout).toContain('GREETER_BINARIES=ok');
    expect(r.stdout).toContain('GREETER_SERVICE=/usr/lib/systemd/system/redbear-greeterd.service');
    expect(r.stdout).toContain('GREETER_SOCKET=ok');
    expect(r.stdout).toContain('GREETER_BACKGROUND=/usr/share/redbear/greeter/background.png');
    expect(r.stdout).toMatch(/^GREETER_HELLO=ok$/m);
  });

  it('the installed redbear-selftest passes against it', async () => {
    const r = await runAsync('sh', [localWrapper('redbear-selftest'), '--root', dest.dir], 120_000);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const m of ['SELFTEST: oobe create+login ok', 'SELFTEST: session lock+unlock ok', 'SELFTEST: session switch ok']) expect(r.stdout).toContain(m);
    expect(r.stdout).toMatch(/^SELFTEST: securefs home (ok|SKIPPED \(.+\))/m);
  }, 150_000);

  it('uninstall removes the installed tree again', async () => {
    await stopAll();
    runInstall(['--uninstall', '--prefix', '/usr', '--destdir', dest.dir]);
    expect(existsSync(at(LIB))).toBe(false);
    for (const b of ['redbear-greeterd', 'redbear-authd', 'redbear-greeter-check']) expect(existsSync(at(`/usr/bin/${b}`)), b).toBe(false);
    expect(existsSync(at('/usr/lib/systemd/system/redbear-greeterd.service'))).toBe(false);
  });
});
