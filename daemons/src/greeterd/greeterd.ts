import { mkdirSync, chownSync, chmodSync, readFileSync } from 'node:fs';
import { ReconnectingClient, ProtocolServer } from '@redbear/protocol/node';
import { INTERFACES } from '@redbear/protocol';
import type { DaemonContext, Running } from '../runtime/index.js';
import type { GreeterdConfig } from './config.js';
import { greeterHandler, helloExtra } from './greeter.rpc.js';
import { Orchestrator } from './orchestrator.js';
import { expandArgv, lookupGroup, lookupUser } from './system.js';
import { UiProcess, type UiMode, type UiSpawnSpec } from './ui-process.js';

/** How long startup waits for authd and sessiond before deciding the first screen without them. */
const STARTUP_WAIT_MS = 3_000;

export async function startGreeterd(ctx: DaemonContext<GreeterdConfig>): Promise<Running> {
  const { root, config, log } = ctx;
  const socketPath = root.path(INTERFACES.greeter.socket);
  const isRoot = process.getuid?.() === 0;

  // The unprivileged UI user. As root, a missing greeter user is fatal for the UI (never run it as root).
  const uiUser = lookupUser(root, config.ui.user);
  if (isRoot && !uiUser) log.error('UI user not found in /etc/passwd; the UI cannot start', { user: config.ui.user });
  if (!isRoot) log.warn('not running as root: the UI runs with greeterd\'s uid (development only)', { uid: process.getuid?.() });
  const runtimeDir = root.path(config.ui.runtime_dir);
  try {
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    chmodSync(runtimeDir, 0o700);
    if (isRoot && uiUser) chownSync(runtimeDir, uiUser.uid, uiUser.gid);
  } catch (e) {
    log.warn('cannot prepare the UI runtime directory', { dir: runtimeDir, error: e as Error });
  }

  const vars: Record<string, string> = { vt: String(config.vt), root: root.dir, node: process.execPath, socket: socketPath };
  const spec = (mode: UiMode): UiSpawnSpec => {
    const home = uiUser ? root.path(uiUser.home) : runtimeDir;
    return {
      argv: isRoot && !uiUser ? [] : expandArgv(config.ui.command, vars),
      cwd: config.ui.cwd ? expandArgv([config.ui.cwd], vars)[0] : undefined,
      uid: isRoot ? uiUser?.uid : undefined,
      gid: isRoot ? uiUser?.gid : undefined,
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: home,
        USER: config.ui.user,
        LOGNAME: config.ui.user,
        LANG: process.env.LANG ?? 'C.UTF-8',
        XDG_RUNTIME_DIR: runtimeDir,
        REDBEAR_ROOT: root.dir,
        REDBEAR_GREETER_SOCKET: socketPath,
        REDBEAR_GREETER_MODE: mode,
        REDBEAR_GREETER_VT: String(config.vt),
        REDBEAR_GREETER_RUNTIME_DIR: runtimeDir,
        ...Object.fromEntries(Object.entries(config.ui.env).map(([k, v]) => [k, expandArgv([v], vars)[0] ?? v])),
      },
    };
  };

  const auth = new ReconnectingClient({ iface: 'auth', socketPath: root.path(config.authd.socket), clientName: 'redbear-greeterd', events: ['users_changed'], timeoutMs: config.authd.timeout_ms, connectTimeoutMs: 1_000, maxBackoffMs: 2_000 });
  const session = new ReconnectingClient({ iface: 'session', socketPath: root.path(config.sessiond.socket), clientName: 'redbear-greeterd', events: ['session', 'lock', 'session_ended'], timeoutMs: config.sessiond.timeout_ms, connectTimeoutMs: 1_000, maxBackoffMs: 2_000 });
  auth.on('connected', () => log.info('authd connected'));
  auth.on('disconnected', () => log.warn('authd connection lost'));
  session.on('connected', () => log.info('sessiond connected'));
  session.on('disconnected', () => log.warn('sessiond connection lost'));

  let server: ProtocolServer | null = null;
  let orchestrator: Orchestrator | null = null;
  const ui = new UiProcess(
    spec,
    { restartMax: config.ui.restart_max, restartWindowMs: config.ui.restart_window_ms, restartDelayMs: config.ui.restart_delay_ms, stopTimeoutMs: config.ui.stop_timeout_ms },
    {
      onStart: () => orchestrator?.onUiStart(),
      onRestart: () => undefined,
      onGiveUp: (deaths) => orchestrator?.onUiGiveUp(deaths),
    },
    log.child({ part: 'ui' }),
  );
  orchestrator = new Orchestrator({
    config,
    log,
    auth,
    session,
    ui,
    broadcast: (event, payload) => void server?.broadcast(event, payload),
    stdout: (line) => process.stdout.write(line + '\n'),
  });

  const hostname = () => {
    try {
      return readFileSync(root.path('/etc/hostname'), 'utf8').trim().slice(0, 255);
    } catch {
      return 'redbear';
    }
  };
  const group = lookupGroup(root, config.socket.group);
  if (group === null) log.warn('socket group not found; the socket stays root-only', { group: config.socket.group });
  const rpc = { config, orchestrator, log, hostname };
  server = new ProtocolServer({
    iface: 'greeter',
    socketPath,
    mode: 0o660,
    ...(isRoot ? { uid: 0 } : {}),
    ...(group !== null && isRoot ? { gid: group } : {}),
    serverName: 'redbear-greeterd',
    handler: greeterHandler(rpc),
    helloExtra: helloExtra(rpc),
    maxConnections: config.socket.max_connections,
    idleTimeoutMs: config.socket.idle_timeout_ms,
    rate: { perSecond: config.socket.requests_per_second, burst: config.socket.burst },
    logger: log,
  });
  await server.listen();
  auth.start();
  session.start();
  if (isRoot && !uiUser) orchestrator.fatal(`the UI user ${config.ui.user} does not exist`);
  else await orchestrator.start(STARTUP_WAIT_MS);
  log.info('greeter state', { state: orchestrator.state });

  return {
    async close() {
      await orchestrator.close();
      auth.stop();
      session.stop();
      await server.close();
    },
  };
}
