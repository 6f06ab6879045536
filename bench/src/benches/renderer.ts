import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ProtocolServer } from '@redbear/protocol/node';
import { WebShell } from '@redbear/electron/web-shell';
import type { Bench, BenchRow } from '../types.js';
import { summarize } from '../stats.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

const SHELL_FLAG = '--renderer-bench-shell';

/** The child: stand-in greeterd + web shell; prints nothing, sends the URL, exits on 'exit'. */
async function shellMain(root: string): Promise<void> {
  mkdirSync(path.join(root, 'usr/share/redbear/greeter'), { recursive: true });
  for (const f of ['background.png', 'icon.png']) copyFileSync(path.join(repo, 'assets', f), path.join(root, 'usr/share/redbear/greeter', f));
  const daemon = new ProtocolServer({
    iface: 'greeter',
    socketPath: path.join(root, 'run/redbear-greeterd.sock'),
    serverName: 'bench-greeterd',
    helloExtra: () => ({ background: '/usr/share/redbear/greeter/background.png', icon: '/usr/share/redbear/greeter/icon.png', session_name: 'KDE on Wayland', state: 'greeter_ready', message: '', first_boot: false, hostname: 'bench' }),
    handler: async (m) => (m.type === 'list_users' ? { type: 'list_users_result', users: [{ username: 'alice', full_name: 'Alice', uid: 1000, has_pin: false, locked: false, has_avatar: false }] } : { type: 'ok' }),
  });
  await daemon.listen();
  const shell = new WebShell({ socketPath: daemon.options.socketPath, root, rendererDir: path.join(repo, 'renderer/dist'), clientScript: path.join(repo, 'electron/dist/web-shell/client/web-client.js') });
  const url = await shell.listen();
  await shell.bridge.client.waitConnected();
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd !== 'exit') return;
    void (async () => {
      await shell.close();
      await daemon.close(100);
      process.exit(0);
    })();
  });
  process.send!({ url });
}

if (process.argv[2] === SHELL_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  await shellMain(process.argv[3]!);
}

class ShellChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(root: string): Promise<ShellChild> {
    const child = fork(fileURLToPath(import.meta.url), [SHELL_FLAG, root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: { url: string }) => resolve(m.url));
      child.once('exit', (code) => reject(new Error(`renderer bench shell exited (${code})`)));
    });
    return new ShellChild(child, url);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'exit' });
    await exited;
  }
}

/** Renderer size, and time to an interactive greeter against Chromium loading an empty page. */
export const bench: Bench = {
  name: 'renderer',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const assets = path.join(repo, 'renderer/dist/assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    const gz = js.reduce((n, f) => n + gzipSync(readFileSync(path.join(assets, f)), { level: 9 }).length, 0);
    rows.push({ bench: 'renderer', metric: 'renderer JavaScript, gzipped', ours: gz / 1024, unit: 'KiB', goal: '≤ 200', note: `${js.length} file(s)` });

    // A greeterd stand-in on the real protocol with one user, behind the real web shell, in a
    // child process of their own: in production the shell (Electron's main process) does not
    // share its event loop with a browser-automation driver, whose CDP traffic during a page load
    // would otherwise delay every bridge round trip.
    const shell = await ShellChild.start(ctx.tmpDir);
    const url = shell.url;
    const empty = http.createServer((_q, r) => r.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>empty</title>'));
    await new Promise<void>((r) => empty.listen(0, '127.0.0.1', r));
    const emptyUrl = `http://127.0.0.1:${(empty.address() as { port: number }).port}/`;
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    const runs = ctx.quick ? 3 : 15;
    const ours: number[] = [];
    const ref: number[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        const p = await browser.newPage();
        await p.goto(url);
        await p.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'password-field', undefined, { timeout: 15_000 });
        ours.push(await p.evaluate(() => performance.now()));
        await p.close();
        const q = await browser.newPage();
        await q.goto(emptyUrl, { waitUntil: 'load' });
        ref.push(await q.evaluate(() => performance.getEntriesByType('navigation')[0]!.duration || performance.now()));
        await q.close();
      }
    } finally {
      await browser.close();
      await shell.stop();
      empty.close();
    }
    const a = summarize(ours);
    const b = summarize(ref);
    rows.push({ bench: 'renderer', metric: 'navigation → greeter interactive (password focused), p50', ours: a.p50, reference: b.p50, referenceName: 'empty page load', unit: 'ms', note: `${runs} runs` });
    return rows;
  },
};
