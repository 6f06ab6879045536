import { closeSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';

/**
 * Tell whoever started us that we serve: `READY=1` on a descriptor (tests, the dev
 * supervisor, s6-style supervisors) and sd_notify when systemd asked for it.
 */
export function signalReady(readyFd: number | undefined): void {
  if (readyFd !== undefined) {
    try {
      writeSync(readyFd, 'READY=1\n');
      closeSync(readyFd);
    } catch {
      /* the reader went away: nothing to tell */
    }
  }
  if (process.env.NOTIFY_SOCKET) {
    // Node has no AF_UNIX datagram sockets; systemd-notify sends it (units set NotifyAccess=all).
    const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  }
}
