import type { TObject, Static } from '@sinclair/typebox';
import { COMMON_USAGE, parseDaemonArgs, UsageError, type DaemonArgs } from './args.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { signalReady } from './ready.js';
import { Root } from './root.js';

export interface DaemonContext<C> {
  name: string;
  root: Root;
  config: C;
  log: Logger;
  args: DaemonArgs;
}

export interface Running {
  /** Drain and stop; resolve once everything is closed. */
  close(): Promise<void>;
}

export interface DaemonSpec<S extends TObject> {
  name: string;
  summary: string;
  configSchema: S;
  defaults: Static<S>;
  start(ctx: DaemonContext<Static<S>>): Promise<Running>;
}

/** Exit codes shared by every daemon (sysexits where one fits). */
export const EXIT = { ok: 0, failure: 1, usage: 64, config: 78, software: 70 } as const;

/**
 * The lifecycle every daemon shares: arguments, config, logger, start, readiness,
 * SIGTERM/SIGINT drain. A second signal exits at once.
 */
export async function runDaemon<S extends TObject>(spec: DaemonSpec<S>, argv = process.argv.slice(2)): Promise<void> {
  let args: DaemonArgs;
  try {
    args = parseDaemonArgs(argv);
  } catch (e) {
    process.stderr.write(`${spec.name}: ${(e as Error).message}\n`);
    process.exit(EXIT.usage);
  }
  if (args.help) {
    process.stdout.write(`${spec.name} — ${spec.summary}\n\nUsage: ${spec.name} [options]\n${COMMON_USAGE}\n`);
    process.exit(EXIT.ok);
  }
  const log = createLogger({ name: spec.name, level: args.logLevel, file: args.logFile });
  let config: Static<S>;
  let root: Root;
  try {
    root = new Root(args.root);
    config = loadConfig(spec.configSchema, spec.defaults, args.config);
  } catch (e) {
    log.error(e instanceof ConfigError ? 'bad configuration' : 'bad arguments', { error: (e as Error).message });
    process.exit(e instanceof ConfigError ? EXIT.config : EXIT.usage);
  }
  process.on('uncaughtException', (e) => {
    log.error('uncaught exception', { error: e });
    process.exit(EXIT.software);
  });
  process.on('unhandledRejection', (e) => {
    log.error('unhandled rejection', { error: e instanceof Error ? e : String(e) });
    process.exit(EXIT.software);
  });
  let running: Running;
  try {
    running = await spec.start({ name: spec.name, root, config, log, args });
  } catch (e) {
    log.error('failed to start', { error: e instanceof Error ? e : String(e) });
    process.exit(e instanceof UsageError ? EXIT.usage : EXIT.failure);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(EXIT.failure);
    stopping = true;
    log.info('stopping', { signal });
    running.close().then(
      () => {
        log.info('stopped');
        process.exit(EXIT.ok);
      },
      (e) => {
        log.error('error while stopping', { error: e });
        process.exit(EXIT.failure);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info('ready', { root: root.dir });
  signalReady(args.readyFd);
}
