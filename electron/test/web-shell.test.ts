import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import WebSocket from 'ws';
import { ProtocolServer } from '../../protocol/src/node/index.js';
import { ProtocolError } from '../../protocol/src/common/index.js';
import { WebShell } from '../src/web-shell/server.js';

const repo = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

// A fake greeterd speaking the real v2 protocol: enough to prove the shell's plumbing.
let root: string;
let daemon: ProtocolServer;
let shell: WebShell;
let url: string;
let browser: Browser;

function get(u: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(u, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'rb-shell-'));
  mkdirSync(path.join(root, 'usr/share/redbear/greeter'), { recursive: true });
  copyFileSync(path.join(repo, 'assets/icon.png'), path.join(root, 'usr/share/redbear/greeter/icon.png'));
  copyFileSync(path.join(repo, 'assets/background.png'), path.join(root, 'usr/share/redbear/greeter/background.png'));
  daemon = new ProtocolServer({
    iface: 'greeter',
    socketPath: path.join(root, 'run/redbear-greeterd.sock'),
    serverName: 'fake-greeterd',
    helloExtra: () => ({ background: '/usr/share/redbear/greeter/background.png', icon: '/usr/share/redbear/greeter/icon.png', session_name: 'KDE on Wayland', state: 'greeter_ready', message: '', first_boot: false, hostname: 'fakehost' }),
    handler: async (m) => {
      if (m.type === 'list_users') return { type: 'list_users_result', users: [
        { username: 'alice', full_name: 'Alice', uid: 1000, has_pin: false, locked: false, has_avatar: false },
        { username: 'bob', full_name: 'Bob', uid: 1001, has_pin: true, locked: false, has_avatar: false, session: 'locked' },
      ] };
      if (m.type === 'submit_login') throw new ProtocolError('rate_limited', 'wait', { retry_after_ms: 4000 });
      throw new ProtocolError('unknown_type', 'no');
    },
  });
  await daemon.listen();
  shell = new WebShell({ socketPath: daemon.options.socketPath, root, rendererDir: path.join(repo, 'renderer/dist'), clientScript: path.join(repo, 'electron/dist/web-shell/client/web-client.js') });
  url = await shell.listen();
  await shell.bridge.client.waitConnected();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await shell?.close();
  await daemon?.close(100);
  rmSync(root, { recursive: true, force: true });
});

describe('web shell', () => {
  it('gives the page window.greeter backed by greeterd, with typed failures', async () => {
    expect(existsSync(path.join(repo, 'renderer/dist/index.html'))).toBe(true);
    const page = await browser.newPage();
    await page.goto(url);
    const hello = await page.evaluate(() => (window as unknown as { greeter: { hello(): Promise<{ hostname: string; background: string }> } }).greeter.hello());
    expect(hello).toMatchObject({ hostname: 'fakehost', background: '/asset/background' });
    const users = await page.evaluate(() => (window as unknown as { greeter: { listUsers(): Promise<unknown> } }).greeter.listUsers());
    expect(users).toEqual([
      { username: 'alice', fullName: 'Alice', uid: 1000, hasPin: false, locked: false },
      { username: 'bob', fullName: 'Bob', uid: 1001, hasPin: true, locked: false, session: 'locked' },
    ]);
    const login = await page.evaluate(() => (window as unknown as { greeter: { login(u: string, p: string): Promise<unknown> } }).greeter.login('alice', 'pw'));
    expect(login).toEqual({ ok: false, code: 'rate_limited', message: 'wait', retryAfterMs: 4000 });
    expect(page.url()).not.toContain('token');
    const bg = await page.evaluate(async () => (await fetch('/asset/background')).headers.get('content-type'));
    expect(bg).toBe('image/png');
    await page.close();
  });

  it('sends a strict CSP and refuses traversal', async () => {
    const origin = new URL(url).origin;
    const index = await get(origin + '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['content-security-policy']).toContain("default-src 'none'");
    expect(index.body).toContain('/shell/web-client.js');
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/..%2f..%2fpackage.json']) {
      expect((await get(origin + p)).status).toBe(404);
    }
    expect((await get(origin + '/avatar/alice')).status).toBe(403);
  });

  it('refuses API sockets without the token or from another origin', async () => {
    const origin = new URL(url).origin;
    const wsUrl = origin.replace('http', 'ws') + '/api';
    const closeCode = (ws: WebSocket) => new Promise<number>((r) => ws.on('close', (c) => r(c)).on('error', () => r(-1)));
    const foreign = new WebSocket(wsUrl, { headers: { Origin: 'http://evil.example' } });
    expect(await closeCode(foreign)).toBe(-1);
    const noToken = new WebSocket(wsUrl, { headers: { Origin: origin } });
    noToken.on('open', () => noToken.send(JSON.stringify({ token: 'nope' })));
    expect(await closeCode(noToken)).toBe(4401);
    const badCall = new WebSocket(wsUrl, { headers: { Origin: origin } });
    badCall.on('open', () => {
      badCall.send(JSON.stringify({ token: shell.token }));
      badCall.send(JSON.stringify({ id: 1, method: 'constructor', args: [] }));
    });
    expect(await closeCode(badCall)).toBe(4400);
  });
});
