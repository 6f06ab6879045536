import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebShell } from './server.js';

/**
 * redbear-greeter-web: the kiosk renderer in a browser. Serves the built renderer and the
 * renderer API on loopback; opens Chromium in app mode when a display is available.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    root: { type: 'string', default: '/' },
    socket: { type: 'string' },
    renderer: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'url-file': { type: 'string' },
    open: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`redbear-greeter-web — serve the kiosk UI to a browser on loopback
  --root DIR        hermetic root (greeterd socket and assets resolve under it)
  --socket PATH     greeterd socket (default <root>/run/redbear-greeterd.sock)
  --renderer DIR    built renderer (default: the package's renderer/dist)
  --port N          port on 127.0.0.1 (default: any free port)
  --url-file FILE   write the URL (with its token) to FILE, mode 0600
  --open            open Chromium in app mode when a display is available`);
  process.exit(0);
}
const root = path.resolve(values.root!);
if (values.host !== '127.0.0.1' && values.host !== '::1' && values.host !== 'localhost') {
  console.error('redbear-greeter-web: refusing to listen beyond loopback');
  process.exit(64);
}
const shell = new WebShell({
  socketPath: values.socket ?? path.join(root, 'run/redbear-greeterd.sock'),
  root,
  rendererDir: values.renderer ?? path.resolve(here, '../../../renderer/dist'),
  clientScript: path.join(here, 'client/web-client.js'),
  host: values.host,
  port: Number(values.port),
  log: (m) => console.error(m),
});
const url = await shell.listen();
if (values['url-file']) writeFileSync(values['url-file'], url + '\n', { mode: 0o600 });
console.log(`redbear-greeter-web: UI at ${url}`);

if (values.open && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && existsSync('/usr/bin/chromium')) {
  const profile = mkdtempSync(path.join(tmpdir(), 'redbear-kiosk-'));
  const browser = spawn('/usr/bin/chromium', [`--app=${url}`, '--kiosk', `--user-data-dir=${profile}`, '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'], { stdio: 'ignore' });
  browser.on('error', () => console.error('redbear-greeter-web: could not start Chromium'));
}

const stop = () => void shell.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
