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

/**
 * Start redbear-session-launch (as root) with the spec on stdin and wait until it reports that
 * the session command runs (a JSON line on fd 3). The launcher runs in its own session
 * (setsid) with no pipe but fd 3 to us, so a sessiond crash does not take a running session
 * down; `onSpawn` persists the pid before the session starts, so a sessiond that dies while the
 * session is opening kills it on restart (and the launcher itself gives up when it cannot
 * report "started").
 */
export async function launchSession(
  argv: string[],
  root: string,
  spec: sessionProto.SessionLaunchSpec,
  startTimeoutMs: number,
  onSpawn: (pid: number, start: string | null) => Promise<void>,
): Promise<Leader> {
  const [cmd, ...args] = argv.length ? argv : defaultLauncher();
  if (!cmd) throw new ProtocolError('internal', 'no session launcher configured');
  const child = spawn(cmd, [...args, '--root', root], {
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    detached: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const exited = new Promise<LeaderExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  const spawned = child.pid !== undefined ? onSpawn(child.pid, procStat(child.pid)?.start ?? null) : Promise.resolve();
  const stdin = child.stdin as Writable;
  stdin.on('error', () => undefined);
  stdin.end(JSON.stringify(spec) + '\n');
  const status = child.stdio[3] as Readable;
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
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProtocolError('timeout', `session did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
  });
  try {
    await spawned;
    await Promise.race([started, timeout]);
  } catch (e) {
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    await exited;
    throw e;
  } finally {
    clearTimeout(timer);
    status.destroy();
  }
  child.unref();
  const pid = child.pid!;
  return { pid, start: procStat(pid)?.start ?? null, exited };
}
