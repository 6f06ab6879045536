import net from 'node:net';
import { EventEmitter } from 'node:events';
import { LineDecoder, encodeLine } from '../common/framing.js';
import { ProtocolError, isErrorCode, type ErrorExtra } from '../common/errors.js';
import type { InterfaceName } from '../common/registry.js';
import { validateReply, type Message } from '../common/validate.js';

export interface ClientOptions {
  iface: InterfaceName;
  socketPath: string;
  clientName?: string;
  /** Default per-request timeout. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Validate every reply against the schemas (on by default). */
  validate?: boolean;
}

type Pending = { resolve: (m: Message) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** Turn an `error` reply into the ProtocolError it carries. */
export function errorFromReply(m: Record<string, unknown>): ProtocolError {
  const code = isErrorCode(m.code) ? m.code : 'internal';
  const extra: ErrorExtra = {};
  if (typeof m.retry_after_ms === 'number') extra.retry_after_ms = m.retry_after_ms;
  if (typeof m.scheme === 'string') extra.scheme = m.scheme;
  if (typeof m.field === 'string') extra.field = m.field;
  if (Array.isArray(m.supported)) extra.supported = m.supported as number[];
  return new ProtocolError(code, typeof m.message === 'string' ? m.message : 'error', extra);
}

/**
 * A version-2 connection: `hello` negotiated on connect, request ids matched to replies,
 * pushed events emitted as 'event'. Emits 'close' once. Typed errors only:
 * error replies reject with their ProtocolError; timeouts with `timeout`; a lost
 * connection with `unavailable`.
 */
export class ProtocolClient extends EventEmitter {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new LineDecoder();
  private closed = false;
  hello: Message | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: ClientOptions,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  static async connect(opts: ClientOptions): Promise<ProtocolClient> {
    const socket = await connectSocket(opts.socketPath, opts.connectTimeoutMs ?? 2_000);
    const client = new ProtocolClient(socket, opts);
    try {
      client.hello = await client.request({ type: 'hello', version: 2, ...(opts.clientName ? { client: opts.clientName } : {}) });
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Send a request (without id) and wait for its reply. */
  request(msg: Record<string, unknown> & { type: string }, timeoutMs = this.opts.timeoutMs ?? 5_000): Promise<Message> {
    if (this.closed) return Promise.reject(new ProtocolError('unavailable', `${this.opts.iface} connection is closed`));
    const id = this.nextId++;
    const { type, ...rest } = msg;
    let line: Uint8Array;
    try {
      line = encodeLine({ type, id, ...rest });
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError('timeout', `${this.opts.iface}: no reply to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(line, () => line.fill(0));
    });
  }

  async subscribe(events: string[]): Promise<void> {
    await this.request({ type: 'subscribe', events });
  }

  close(): void {
    if (!this.closed) this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.decoder.push(chunk)) {
      if (frame.kind === 'error') {
        this.emit('protocol_error', frame.error);
        if (frame.fatal) this.socket.destroy();
        continue;
      }
      const m = frame.value;
      if (m.type === 'event') {
        if (this.opts.validate !== false) {
          const v = validateReply(this.opts.iface, 2, m);
          if (!v.ok) {
            this.emit('protocol_error', v.error);
            continue;
          }
        }
        this.emit('event', m);
        continue;
      }
      const id = typeof m.id === 'number' ? m.id : null;
      const p = id === null ? undefined : this.pending.get(id);
      if (!p) {
        // An error with id null answers a frame we could not send correctly: fail the oldest request.
        if (m.type === 'error' && id === null) {
          const first = this.pending.entries().next();
          if (!first.done) this.settle(first.value[0], first.value[1], m);
        }
        continue;
      }
      this.settle(id!, p, m);
    }
  }

  private settle(id: number, p: Pending, m: Record<string, unknown>): void {
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (m.type === 'error') return p.reject(errorFromReply(m));
    if (this.opts.validate !== false) {
      const v = validateReply(this.opts.iface, 2, m);
      if (!v.ok) return p.reject(new ProtocolError('internal', `invalid reply from ${this.opts.iface}: ${v.error.message}`));
    }
    p.resolve(m as Message);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.reset();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ProtocolError('unavailable', `${this.opts.iface} connection closed before the reply`));
    }
    this.pending.clear();
    this.emit('close');
  }
}

function connectSocket(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ProtocolError('timeout', `connect to ${socketPath} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ProtocolError('unavailable', `cannot connect to ${socketPath}: ${e.code ?? e.message}`));
    });
  });
}

/**
 * One v1 request the way Red Bear's clients do it: open a connection, write one line,
 * read one line, close.
 */
export async function v1Request(socketPath: string, msg: Record<string, unknown>, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const s = await connectSocket(socketPath, timeoutMs);
  return new Promise((resolve, reject) => {
    const decoder = new LineDecoder();
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ProtocolError('timeout', 'no v1 reply'));
    }, timeoutMs);
    s.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        clearTimeout(timer);
        s.destroy();
        if (f.kind === 'error') reject(f.error);
        else resolve(f.value);
        return;
      }
    });
    s.on('error', (e) => reject(new ProtocolError('unavailable', e.message)));
    s.on('close', () => reject(new ProtocolError('unavailable', 'closed without a reply')));
    s.write(encodeLine(msg));
  });
}
