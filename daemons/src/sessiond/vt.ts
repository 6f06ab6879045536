import { execFile } from 'node:child_process';
import type { Logger } from '../runtime/index.js';

/** Switch the console to a VT through the configured argv (`{vt}` is replaced). Failures are logged, not fatal. */
export function switchVt(argv: readonly string[], vt: number, log: Logger): Promise<void> {
  const [cmd, ...args] = argv.map((a) => a.replaceAll('{vt}', String(vt)));
  if (!cmd) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err) => {
      if (err) log.warn('VT switch failed', { vt, error: err.message });
      resolve();
    });
  });
}
