import { app, BrowserWindow, Menu, protocol, screen, session, type WebContents } from 'electron';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GreeterdBridge } from '../common/bridge.js';
import { contentSecurityPolicy, MIME, SECURITY_HEADERS } from '../common/csp.js';
import { resolveStatic } from '../common/static-files.js';
import { EVENT_CHANNEL, registerIpc, RENDERER_ORIGIN } from './ipc.js';
import { isBlockedChord, kioskWindowOptions } from './window-options.js';

/**
 * redbear-greeter-ui: the Electron kiosk. One frameless fullscreen window per display over
 * a black background; the primary display carries the form.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const production = app.isPackaged || process.env.REDBEAR_DEV !== '1';
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const root = path.resolve(arg('--root', '/'));
const rendererDir = path.resolve(arg('--renderer', path.resolve(here, '../../../renderer/dist')));
const log = (m: string) => process.stderr.write(`redbear-greeter-ui: ${m}\n`);

// A crashed GPU process relaunches us once with the GPU off.
if (process.argv.includes('--disable-gpu')) app.disableHardwareAcceleration();
app.on('child-process-gone', (_e, details) => {
  if (details.type === 'GPU' && !process.argv.includes('--disable-gpu')) {
    log(`GPU process gone (${details.reason}); relaunching without GPU`);
    app.relaunch({ args: [...process.argv.slice(1), '--disable-gpu'] });
    app.exit(0);
  }
});

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const bridge = new GreeterdBridge({
  socketPath: path.join(root, 'run/redbear-greeterd.sock'),
  assetUrl: (kind) => `${RENDERER_ORIGIN}/asset/${kind}`,
  avatarUrl: (u) => `${RENDERER_ORIGIN}/avatar/${encodeURIComponent(u)}`,
  locale: app.getLocale(),
});
const windows = new Set<BrowserWindow>();
const isOurs = (wc: WebContents) => [...windows].some((w) => w.webContents === wc);

async function serve(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers = { 'Content-Security-Policy': contentSecurityPolicy(), ...SECURITY_HEADERS };
  if (url.host !== 'renderer') return new Response(null, { status: 404 });
  if (url.pathname === '/asset/background' || url.pathname === '/asset/icon') {
    const announced = bridge.assets[url.pathname.endsWith('icon') ? 'icon' : 'background'];
    if (!announced) return new Response(null, { status: 404 });
    const data = await fs.readFile(path.join(root, path.posix.normalize(announced))).catch(() => null);
    return data ? new Response(new Uint8Array(data), { headers: { ...headers, 'Content-Type': MIME[path.extname(announced)] ?? 'application/octet-stream' } }) : new Response(null, { status: 404 });
  }
  if (url.pathname.startsWith('/avatar/')) {
    const a = await bridge.avatar(decodeURIComponent(url.pathname.slice(8)));
    return a ? new Response(new Uint8Array(a.data), { headers: { ...headers, 'Content-Type': a.mime } }) : new Response(null, { status: 404 });
  }
  const file = await resolveStatic(rendererDir, url.pathname === '/' ? '/index.html' : url.pathname);
  if (!file) return new Response(null, { status: 404 });
  return new Response(new Uint8Array(await fs.readFile(file)), { headers: { ...headers, 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream' } });
}

function harden(wc: WebContents): void {
  wc.on('will-navigate', (e) => e.preventDefault());
  wc.on('will-redirect', (e) => e.preventDefault());
  wc.on('will-attach-webview', (e) => e.preventDefault());
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  if (production) {
    wc.on('before-input-event', (e, input) => {
      if (isBlockedChord(input)) e.preventDefault();
    });
    wc.on('devtools-opened', () => wc.closeDevTools());
  }
}

function createWindows(): void {
  const primary = screen.getPrimaryDisplay();
  for (const display of screen.getAllDisplays()) {
    const win = new BrowserWindow({
      ...kioskWindowOptions(display.bounds, production),
      webPreferences: {
        preload: path.join(here, '../preload/preload.cjs'), // eng-disable PRELOAD_JS_CHECK (reviewed: named verbs only; docs/security.md)
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        spellcheck: false,
        devTools: !production,
        safeDialogs: true,
        disableDialogs: true,
        disableBlinkFeatures: 'Auxclick',
      },
    });
    windows.add(win);
    win.on('closed', () => windows.delete(win));
    harden(win.webContents);
    win.once('ready-to-show', () => win.show());
    const role = display.id === primary.id ? 'primary' : 'secondary';
    void win.loadURL(`${RENDERER_ORIGIN}/index.html?role=${role}`);
  }
}

app.on('web-contents-created', (_e, wc) => harden(wc));
app.whenReady().then(() => {
  Menu.setApplicationMenu(null);
  const s = session.defaultSession;
  s.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  s.setPermissionCheckHandler(() => false);
  s.on('will-download', (e) => e.preventDefault());
  // Defence in depth: every response gets the CSP, not only those of the app:// handler.
  s.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy()] } });
  });
  protocol.handle('app', serve);
  registerIpc(bridge, isOurs, log);
  bridge.on('event', (e) => {
    for (const w of windows) w.webContents.send(EVENT_CHANNEL, e);
  });
  bridge.start();
  createWindows();
  screen.on('display-added', () => {
    for (const w of windows) w.destroy();
    createWindows();
  });
}, (e: unknown) => {
  log(`failed to start: ${String(e)}`);
  app.exit(1);
});
app.on('window-all-closed', () => app.quit());
