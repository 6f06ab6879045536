import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DAEMONS } from './daemons.js';
import { seedRoot } from './seed-root.js';
import { spawnDaemon, type SpawnedDaemon } from './spawn-daemon.js';

/**
 * `npm start`: a whole stack in a hermetic root. Starts every daemon that is built, in
 * dependency order, waits for each to be ready, starts the UI shell when it is built,
 * and stops everything in reverse order on Ctrl-C.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    temp: { type: 'boolean', default: false },
    'no-ui': { type: 'boolean', default: false },
    'exit-after-ready': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`redbear dev supervisor — run the whole stack in a hermetic root

  --root DIR          the root to use (default: .dev-root in the repository)
  --temp              use a fresh temporary root instead
  --no-ui             start only the daemons
  --exit-after-ready  stop again once everything is ready (a smoke test)`);
  process.exit(0);
}

const webShell = path.join(repo, 'electron/dist/web-shell/main.js');
const root = values.root ? path.resolve(values.root) : values.temp ? mkdtempSync(path.join(tmpdir(), 'redbear-root-')) : path.join(repo, '.dev-root');
await seedRoot(root, { assetsDir: path.join(repo, 'assets') });
console.log(`redbear: root ${root}`);

const running: SpawnedDaemon[] = [];
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  for (const d of [...running].reverse()) {
    const rc = await d.stop();
    console.log(`redbear: ${d.name} stopped (${rc})`);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

for (const d of DAEMONS) {
  const main = path.join(repo, 'daemons/dist', d.name, 'main.js');
  if (!existsSync(main)) {
    console.log(`redbear: ${d.binary} is not built yet; skipping`);
    continue;
  }
  const configFile = path.join(repo, 'config/dev', `${d.name}.toml`);
  try {
    const spawned = await spawnDaemon({
      name: d.binary,
      main,
      args: ['--root', root, '--log-file', path.join(root, 'var/log/redbear', `${d.name}.log`), ...(existsSync(configFile) ? ['--config', configFile] : [])],
      onLine: (stream, line) => {
        if (stream === 'stdout') console.log(`${d.binary}: ${line}`);
      },
    });
    running.push(spawned);
    void spawned.exited.then((rc) => {
      if (!stopping) console.log(`redbear: ${d.binary} exited unexpectedly (${rc})`);
    });
    console.log(`redbear: ${d.binary} ready on ${path.join(root, d.socket)}`);
  } catch (e) {
    console.error(`redbear: ${(e as Error).message}\n${(e as { output?: string }).output ?? ''}`);
    await stopAll(1);
  }
}

// greeterd owns the UI (config/dev/greeterd.toml makes it the web shell); report its URL.
const urlFile = path.join(root, 'run/redbear-greeter/ui-url');
if (!values['exit-after-ready'] && running.some((d) => d.name === 'redbear-greeterd')) {
  for (let i = 0; i < 100 && !existsSync(urlFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (existsSync(urlFile)) console.log(`redbear: the greeter UI is at ${readFileSync(urlFile, 'utf8').trim()}`);
  else console.log('redbear: the UI has not reported a URL yet; see redbear-greeterd output');
} else if (!values['no-ui'] && !values['exit-after-ready'] && existsSync(webShell)) {
  // No greeterd built: show the renderer through the web shell anyway (it reports the service as unreachable).
  const ui = spawn(process.execPath, [webShell, '--root', root], { stdio: 'inherit' });
  ui.on('exit', (rc) => console.log(`redbear: UI shell exited (${rc})`));
}
console.log(`redbear: ${running.length} daemon(s) running; logs in ${path.join(root, 'var/log/redbear')}. Ctrl-C stops everything.`);
if (values['exit-after-ready']) await stopAll(0);
