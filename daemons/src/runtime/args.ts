import { parseArgs } from 'node:util';

export interface DaemonArgs {
  root: string;
  config: string | undefined;
  readyFd: number | undefined;
  logLevel: LogLevel | undefined;
  logFile: string | undefined;
  help: boolean;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Arguments every daemon takes. */
export function parseDaemonArgs(argv: string[]): DaemonArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string', default: '/' },
        config: { type: 'string' },
        'ready-fd': { type: 'string' },
        'log-level': { type: 'string' },
        'log-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const fd = values['ready-fd'] === undefined ? undefined : Number(values['ready-fd']);
  if (fd !== undefined && !(Number.isInteger(fd) && fd >= 3)) throw new UsageError('--ready-fd takes a descriptor number >= 3');
  const level = values['log-level'];
  if (level !== undefined && !LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  return {
    root: values.root ?? '/',
    config: values.config,
    readyFd: fd,
    logLevel: level as LogLevel | undefined,
    logFile: values['log-file'],
    help: values.help ?? false,
  };
}

export const COMMON_USAGE = `  --root DIR        resolve every absolute path under DIR (default /)
  --config FILE     TOML configuration (defaults: config/defaults/)
  --ready-fd N      write "READY=1\\n" to descriptor N once serving
  --log-level L     debug | info | warn | error (default info)
  --log-file FILE   also append JSON log lines to FILE
  -h, --help        this text`;
