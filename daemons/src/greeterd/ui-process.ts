import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../runtime/index.js';

/**
 * The greeter UI process: at most one at a time, restarted when it dies with a bounded policy
 * (at most `restartMax` restarts within `restartWindowMs`); one more death inside the window
 * calls `onGiveUp` instead — never an endless restart loop (seed §9.7).
 */
export interface UiSpawnSpec {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string | undefined;
  /** Drop to this uid/gid (libuv also clears the supplementary groups: setgroups(0, NULL)). */
  uid: number | undefined;
  gid: number | undefined;
}

export interface UiPolicy {
  restartMax: number;
  restartWindowMs: number;
  restartDelayMs: number;
  stopTimeoutMs: number;
}

export type UiMode = 'greeter' | 'oobe' | 'lock';

export interface UiEvents {
  /** A new UI process started (pid). */
  onStart(pid: number, mode: UiMode): void;
  /** The UI died unexpectedly and will be restarted. */
  onRestart(attempt: number, why: string): void;
  /** The UI died too often: it stays down. */
  onGiveUp(deaths: number, why: string): void;
}

export class UiProcess {
  private child: ChildProcess | null = null;
  private mode: UiMode = 'greeter';
  private wanted = false;
  private deaths: number[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private exitWaiters: Array<() => void> = [];
  private gaveUp = false;
  /** Incremented for every UI process: a report from an older run does not count for this one. */
  generation = 0;

  constructor(
    private readonly spec: (mode: UiMode) => UiSpawnSpec,
    private readonly policy: UiPolicy,
    private readonly events: UiEvents,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get currentMode(): UiMode {
    return this.mode;
  }

  get failed(): boolean {
    return this.gaveUp;
  }

  /**
   * Make sure a UI runs; `mode` is what a newly started UI is told. A running UI is not
   * restarted for a mode change: it follows greeterd's state events.
   */
  ensure(mode: UiMode): void {
    if (this.gaveUp) return;
    this.wanted = true;
    this.mode = mode;
    if (!this.child && !this.restartTimer) this.launch();
  }

  /** Stop the UI and keep it stopped: SIGTERM to its process group, SIGKILL after stopTimeoutMs. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((r) => this.exitWaiters.push(r));
    this.signal(child, 'SIGTERM');
    const t = setTimeout(() => this.signal(child, 'SIGKILL'), this.policy.stopTimeoutMs);
    await gone;
    clearTimeout(t);
  }

  private signal(child: ChildProcess, sig: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {}
    }
  }

  private launch(): void {
    const s = this.spec(this.mode);
    const [cmd, ...args] = s.argv;
    if (!cmd) return;
    this.generation++;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        env: s.env,
        cwd: s.cwd,
        uid: s.uid,
        gid: s.gid,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      this.log.error('cannot start the greeter UI', { command: cmd, error: e as Error });
      this.died(`spawn failed: ${(e as Error).message}`);
      return;
    }
    this.child = child;
    const forward = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
      // stderr is where a failing UI says why; stdout may carry the web shell's tokened URL.
      const emit = stream === 'stderr' ? this.log.info : this.log.debug;
      for (const line of d.toString('utf8').split('\n')) if (line.trim()) emit('ui output', { stream, line: line.slice(0, 512) });
    };
    child.stdout?.on('data', forward('stdout'));
    child.stderr?.on('data', forward('stderr'));
    let settled = false;
    const finish = (why: string) => {
      if (settled) return;
      settled = true;
      if (this.child === child) this.child = null;
      for (const w of this.exitWaiters.splice(0)) w();
      if (this.wanted) this.died(why);
    };
    child.once('error', (e) => finish(`cannot start: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    child.once('exit', (code, sig) => finish(sig ? `killed by ${sig}` : `exited with ${code}`));
    if (child.pid !== undefined) {
      this.log.info('greeter UI started', { pid: child.pid, mode: this.mode, uid: s.uid ?? process.getuid?.() });
      this.events.onStart(child.pid, this.mode);
    }
  }

  private died(why: string): void {
    const now = this.now();
    this.deaths = this.deaths.filter((t) => now - t < this.policy.restartWindowMs);
    this.deaths.push(now);
    if (this.deaths.length > this.policy.restartMax) {
      this.gaveUp = true;
      this.wanted = false;
      this.log.error('greeter UI keeps dying; giving up', { deaths: this.deaths.length, window_ms: this.policy.restartWindowMs, why });
      this.events.onGiveUp(this.deaths.length, why);
      return;
    }
    this.log.warn('greeter UI died; restarting', { attempt: this.deaths.length, why });
    this.events.onRestart(this.deaths.length, why);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.wanted && !this.child) this.launch();
    }, this.policy.restartDelayMs);
  }
}
