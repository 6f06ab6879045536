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

/** Renderer size, and time to an interactive greeter against Chromium loading an empty page. */
export const bench: Bench = {
  name: 'renderer',
  async run(ctx) {
    const rows: BenchRow[] = [];
    const assets = path.join(repo, 'renderer/dist/assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js'));
    const gz = js.reduce((n, f) => n + gzipSync(readFileSync(path.join(assets, f)), { level: 9 }).length, 0);
    rows.push({ bench: 'renderer', metric: 'renderer JavaScript, gzipped', ours: gz / 1024, unit: 'KiB', goal: '≤ 200', note: `${js.length} file(s)` });

    // A greeterd stand-in on the real protocol with one user, behind the real web shell.
    const root = ctx.tmpDir;
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
      await shell.close();
      await daemon.close(100);
      empty.close();
    }
    const a = summarize(ours);
    const b = summarize(ref);
    rows.push({ bench: 'renderer', metric: 'navigation → greeter interactive (password focused), p50', ours: a.p50, reference: b.p50, referenceName: 'empty page load', unit: 'ms', note: `${runs} runs` });
    return rows;
  },
};
