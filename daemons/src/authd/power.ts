import type { Logger } from '../runtime/index.js';
import { describe, runCommand } from './commands.js';
import type { AuthdConfig } from './config.js';

export type PowerAction = 'shutdown' | 'reboot';

/**
 * Shutdown/reboot through configured argv commands (defaults: `systemctl poweroff` /
 * `systemctl reboot`; Red Bear: `shutdown`/`reboot` of its init, see the docs).
 * One action at a time: a second request while one runs is answered `ok: false`.
 */
export class Power {
  private running = false;

  constructor(
    private readonly cfg: AuthdConfig['power'],
    private readonly log: Logger,
  ) {}

  async act(action: PowerAction): Promise<{ ok: boolean; message: string }> {
    if (this.running) return { ok: false, message: 'a power action is already in progress' };
    this.running = true;
    try {
      const argv = action === 'shutdown' ? this.cfg.shutdown : this.cfg.reboot;
      this.log.info('power action', { action, command: argv[0] ?? null });
      const r = await runCommand(argv, { action }, {}, this.cfg.timeout_ms);
      const ok = r.code === 0;
      if (!ok) this.log.warn('power action failed', { action, result: describe(r) });
      return { ok, message: ok ? `${action} requested` : `${action} failed: ${describe(r)}` };
    } finally {
      this.running = false;
    }
  }
}
