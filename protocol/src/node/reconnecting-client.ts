import { EventEmitter } from 'node:events';
import { ProtocolError } from '../common/errors.js';
import type { Message } from '../common/validate.js';
import { ProtocolClient, type ClientOptions } from './client.js';

export interface ReconnectOptions extends ClientOptions {
  events?: string[];
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Keeps one v2 connection up: reconnects with exponential backoff (with jitter) and
 * re-subscribes. Emits 'connected' (with the hello), 'disconnected' and 'event'.
 * While disconnected, requests fail at once with `unavailable` rather than queueing.
 */
export class ReconnectingClient extends EventEmitter {
  private client: ProtocolClient | null = null;
  private stopped = false;
  private backoff: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ReconnectOptions) {
    super();
    this.backoff = opts.minBackoffMs ?? 100;
  }

  get connected(): boolean {
    return this.client !== null && !this.client.isClosed;
  }

  get hello(): Message | null {
    return this.client?.hello ?? null;
  }

  start(): void {
    this.stopped = false;
    void this.attempt();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client?.close();
    this.client = null;
  }

  request(msg: Record<string, unknown> & { type: string }, timeoutMs?: number): Promise<Message> {
    if (!this.client || this.client.isClosed) {
      return Promise.reject(new ProtocolError('unavailable', `${this.opts.iface} service is not reachable`));
    }
    return this.client.request(msg, timeoutMs);
  }

  /** Resolves once connected (or rejects after timeoutMs). */
  waitConnected(timeoutMs = 5_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('connected', on);
        reject(new ProtocolError('timeout', `${this.opts.iface} not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = () => {
        clearTimeout(t);
        resolve();
      };
      this.once('connected', on);
    });
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      const c = await ProtocolClient.connect(this.opts);
      if (this.opts.events?.length) await c.subscribe(this.opts.events);
      if (this.stopped) return c.close();
      this.client = c;
      this.backoff = this.opts.minBackoffMs ?? 100;
      c.on('event', (e) => this.emit('event', e));
      c.once('close', () => {
        this.client = null;
        this.emit('disconnected');
        this.schedule();
      });
      this.emit('connected', c.hello);
    } catch {
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const max = this.opts.maxBackoffMs ?? 5_000;
    const wait = Math.min(max, this.backoff) * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(max, this.backoff * 2);
    this.timer = setTimeout(() => void this.attempt(), wait);
    this.timer.unref();
  }
}
