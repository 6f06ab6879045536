import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { ProtocolError, type session as sessionProto } from '@redbear/protocol';
import { procStat } from './proc.js';

export interface LeaderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Leader {
  pid: number;
  start: string | null;
  exited: Promise<LeaderExit>;
}

/** The bundled launcher (daemons/dist/session-launch/main.js) when `session.launcher` is empty. */
export function defaultLauncher(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [process.execPath, path.join(here, '..', 'session-launch', 'main.js')];
}

/** A launcher process started ahead of its spec (it waits for the spec on stdin). */
export interface PendingLauncher {
  readonly pid: number | undefined;
  /** Its start time (/proc/<pid>/stat), to persist with the pid. */
  readonly startTime: string | null;
  /** True once the process is gone (a spare that died is not used). */
  readonly gone: boolean;
  /** Send the spec and wait until the launcher reports that the session command runs. */
  start(spec: sessionProto.SessionLaunchSpec, startTimeoutMs: number): Promise<Leader>;
  /** Kill the launcher (and anything it started) and wait for it; idempotent. */
  abort(): Promise<void>;
}

/**
 * Start redbear-session-launch (as root) without its spec. The launcher does nothing but wait
 * for the spec on stdin (it starts nothing and opens nothing before), so sessiond can start it
 * ahead of a login — Node's startup is most of a login's time — and hand it the spec when the
 * keystore session and the home are ready. It runs in its own session (setsid) with no pipe but
 * stdin and fd 3 to us, so a sessiond crash does not take a running session down; a launcher
 * still waiting for its spec when sessiond goes away reads EOF and exits without starting
 * anything. The caller persists `pid`/`startTime` before `start()`, so a sessiond that dies
 * while the session is opening kills it on restart (and the launcher itself gives up when it
 * cannot report "started"). While no spec was sent the launcher keeps no event-loop reference.
 */
export function spawnLauncher(argv: string[], root: string): PendingLauncher {
  const [cmd, ...args] = argv.length ? argv : defaultLauncher();
  if (!cmd) throw new ProtocolError('internal', 'no session launcher configured');
  const child = spawn(cmd, [...args, '--root', root], {
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    detached: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  let gone = false;
  const exited = new Promise<LeaderExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  void exited.then(() => (gone = true));
  const stdin = child.stdin as Writable & { unref?: () => void; ref?: () => void };
  stdin.on('error', () => undefined);
  const status = child.stdio[3] as Readable & { unref?: () => void; ref?: () => void };
  status.on('error', () => undefined);
  const started = new Promise<number>((resolve, reject) => {
    let buf = '';
    status.setEncoding('utf8');
    status.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let msg: { started?: unknown; error?: unknown };
      try {
        msg = JSON.parse(buf.slice(0, nl)) as typeof msg;
      } catch {
        return reject(new ProtocolError('internal', 'session launcher sent garbage'));
      }
      if (typeof msg.started === 'number') resolve(msg.started);
      else reject(new ProtocolError('internal', `session launch failed: ${String(msg.error).slice(0, 500)}`));
    });
    void exited.then((x) => reject(new ProtocolError('internal', `session launcher exited (${x.code ?? x.signal}) before the session started`)));
  });
  started.catch(() => undefined); // observed by start(); a launcher aborted before start() must not crash sessiond
  // Waiting for a spec must not keep sessiond (or a test process) alive.
  child.unref();
  stdin.unref?.();
  status.unref?.();

  let aborted: Promise<void> | null = null;
  const abort = (): Promise<void> => {
    aborted ??= (async () => {
      if (child.pid && !gone) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }
      stdin.destroy();
      status.destroy();
      await exited;
    })();
    return aborted;
  };

  return {
    pid: child.pid,
    startTime: child.pid !== undefined ? (procStat(child.pid)?.start ?? null) : null,
    get gone() {
      return gone;
    },
    abort,
    async start(spec, startTimeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProtocolError('timeout', `session did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
      });
      try {
        if (aborted) throw new ProtocolError('internal', 'session launcher was stopped');
        status.ref?.();
        stdin.end(JSON.stringify(spec) + '\n');
        await Promise.race([started, timeout]);
      } catch (e) {
        await abort();
        throw e;
      } finally {
        clearTimeout(timer);
        status.destroy();
      }
      const pid = child.pid!;
      return { pid, start: procStat(pid)?.start ?? null, exited };
    },
  };
}

/** spawnLauncher + persist (`onSpawn`) + start in one step. */
export async function launchSession(
  argv: string[],
  root: string,
  spec: sessionProto.SessionLaunchSpec,
  startTimeoutMs: number,
  onSpawn: (pid: number, start: string | null) => Promise<void>,
): Promise<Leader> {
  const l = spawnLauncher(argv, root);
  try {
    if (l.pid !== undefined) await onSpawn(l.pid, l.startTime);
  } catch (e) {
    await l.abort();
    throw e;
  }
  return l.start(spec, startTimeoutMs);
}
