import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface SpawnedDaemon {
  name: string;
  child: ChildProcess;
  /** Everything the daemon wrote so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code (or signal name). */
  stop(graceMs?: number): Promise<number | string>;
  exited: Promise<number | string>;
}

export interface SpawnOptions {
  name: string;
  /** The JS entry point (a daemon's dist/<name>/main.js). */
  main: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Mirror output lines here as they arrive (the dev supervisor prints them). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export class DaemonStartError extends Error {
  constructor(name: string, why: string, readonly output: string) {
    super(`${name} did not become ready: ${why}`);
    this.name = 'DaemonStartError';
  }
}

function collect(stream: Readable | null, sink: string[], tag: 'stdout' | 'stderr', onLine?: SpawnOptions['onLine']): void {
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => {
    sink.push(d);
    if (!onLine) return;
    partial += d;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      onLine(tag, partial.slice(0, i));
      partial = partial.slice(i + 1);
    }
  });
}

/** Start a daemon with `--ready-fd 3` and wait until it says READY=1 (or dies). */
export async function spawnDaemon(opts: SpawnOptions): Promise<SpawnedDaemon> {
  const child = spawn(process.execPath, [opts.main, ...opts.args, '--ready-fd', '3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    // Its own process group: a terminal's Ctrl-C reaches only the supervisor, which stops
    // the daemons one by one in reverse order.
    detached: true,
  });
  const out: string[] = [];
  const err: string[] = [];
  collect(child.stdout, out, 'stdout', opts.onLine);
  collect(child.stderr, err, 'stderr', opts.onLine);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const readyPipe = child.stdio[3] as Readable;
  const ready = new Promise<void>((resolve, reject) => {
    let got = '';
    readyPipe.setEncoding('utf8');
    readyPipe.on('data', (d: string) => {
      got += d;
      if (got.includes('READY=1')) resolve();
    });
    readyPipe.on('error', () => undefined);
    void exited.then((code) => reject(new DaemonStartError(opts.name, `exited (${code})`, err.join('') + out.join(''))));
  });
  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DaemonStartError(opts.name, `no READY within ${timeoutMs} ms`, err.join('') + out.join(''))), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(t);
    return code;
  };
  return { name: opts.name, child, stdout: () => out.join(''), stderr: () => err.join(''), stop, exited };
}
