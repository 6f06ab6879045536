import net from 'node:net';
import { promises as fs } from 'node:fs';
import { LineDecoder, encodeLine } from '../common/framing.js';
import { ProtocolError, type ErrorCode } from '../common/errors.js';
import { HelloV2, type ProtocolVersion } from '../common/envelope.js';
import { INTERFACES, type InterfaceName } from '../common/registry.js';
import { check, readId, validateEvent, validateReply, validateRequest, type Message } from '../common/validate.js';
import { listenUnix } from './bind.js';
import { peerCred, type PeerCred } from './peercred.js';
import { TokenBucket } from './token-bucket.js';

export interface ServerLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface RequestContext {
  version: ProtocolVersion;
  connection: ServerConnection;
  /** Aborted when the connection closes or the server drains past its deadline. */
  signal: AbortSignal;
}

/** Return the reply (without `id`; the server adds it on v2) or null for no reply. */
export type RequestHandler = (message: Message, ctx: RequestContext) => Promise<Record<string, unknown> | null>;

export interface ServerOptions {
  iface: InterfaceName;
  socketPath: string;
  /** Defaults to the interface's mode. */
  mode?: number;
  uid?: number;
  gid?: number;
  serverName: string;
  handler: RequestHandler;
  /** Extra fields of this interface's v2 hello_ok. */
  helloExtra?: (conn: ServerConnection) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Decide whether a peer may talk to us at all (peer is null when SO_PEERCRED is unavailable). */
  authorize?: (peer: PeerCred | null) => boolean;
  maxConnections?: number;
  idleTimeoutMs?: number;
  rate?: { perSecond: number; burst: number };
  maxInFlight?: number;
  /** Outgoing bytes queued on one connection before it is dropped as a slow reader. */
  maxBufferedBytes?: number;
  logger?: ServerLogger;
  now?: () => number;
}

const silent: ServerLogger = { debug() {}, warn() {}, error() {} };
let nextConnId = 1;

export class ServerConnection {
  readonly id = nextConnId++;
  version: ProtocolVersion = 1;
  negotiated = false;
  readonly events = new Set<string>();
  inFlight = 0;
  seq = 0;
  closed = false;
  private chain: Promise<void> = Promise.resolve();
  readonly abort = new AbortController();
  constructor(
    readonly socket: net.Socket,
    readonly peer: PeerCred | null,
    readonly bucket: TokenBucket,
  ) {}
  /** v1 requests are answered strictly in order. */
  serialize(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn, fn);
  }
}

export class ProtocolServer {
  readonly options: Required<Omit<ServerOptions, 'uid' | 'gid' | 'helloExtra' | 'authorize'>> & Pick<ServerOptions, 'uid' | 'gid' | 'helloExtra' | 'authorize'>;
  private readonly server: net.Server;
  private readonly connections = new Set<ServerConnection>();
  private draining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: ServerOptions) {
    this.options = {
      mode: INTERFACES[opts.iface].mode,
      maxConnections: 128,
      idleTimeoutMs: 60_000,
      rate: { perSecond: 50, burst: 100 },
      maxInFlight: 8,
      maxBufferedBytes: 1 << 20,
      logger: silent,
      now: () => Date.now(),
      ...opts,
    };
    this.server = net.createServer({ allowHalfOpen: true }, (s) => this.accept(s));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async listen(): Promise<void> {
    const o = this.options;
    await listenUnix(this.server, o.socketPath, { mode: o.mode, uid: o.uid, gid: o.gid });
  }

  /** Push an event to every v2 connection subscribed to it. */
  broadcast(event: string, payload: Record<string, unknown>): number {
    let sent = 0;
    for (const c of this.connections) {
      if (c.closed || c.version !== 2 || !c.events.has(event)) continue;
      const msg = { type: 'event', event, seq: c.seq++, ...payload };
      const v = validateEvent(this.options.iface, msg);
      if (!v.ok) {
        this.options.logger.error('refusing to send an invalid event', { event, error: v.error.message });
        return 0;
      }
      this.write(c, msg);
      sent++;
    }
    return sent;
  }

  /** Stop accepting, let in-flight requests finish (up to drainMs), then close everything. */
  async close(drainMs = 2_000): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    const busy = [...this.connections].some((c) => c.inFlight > 0);
    if (busy) {
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), delay(drainMs)]);
    }
    for (const c of this.connections) {
      c.abort.abort();
      c.socket.end();
      c.socket.destroySoon();
    }
    const t = setTimeout(() => {
      for (const c of this.connections) c.socket.destroy();
    }, 200);
    await closed;
    clearTimeout(t);
    await fs.unlink(this.options.socketPath).catch(() => undefined);
  }

  private accept(socket: net.Socket): void {
    const o = this.options;
    const peer = peerCred(socket);
    socket.on('error', () => undefined);
    if (this.draining || this.connections.size >= o.maxConnections) {
      socket.end(encodeLine({ type: 'error', id: null, code: 'busy', message: 'too many connections' }));
      socket.destroySoon();
      return;
    }
    if (o.authorize && !o.authorize(peer)) {
      o.logger.warn('connection refused', { peer });
      socket.end(encodeLine({ type: 'error', id: null, code: 'unauthorized', message: 'not allowed' }));
      socket.destroySoon();
      return;
    }
    const conn = new ServerConnection(socket, peer, new TokenBucket(o.rate.perSecond, o.rate.burst, o.now));
    this.connections.add(conn);
    const decoder = new LineDecoder();
    socket.setTimeout(o.idleTimeoutMs, () => {
      if (conn.events.size === 0 && conn.inFlight === 0) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.kind === 'error') {
          this.sendError(conn, null, frame.error);
          if (frame.fatal) {
            socket.end();
            socket.destroySoon();
          }
          continue;
        }
        this.dispatch(conn, frame.value);
      }
    });
    socket.on('end', () => {
      // Half-closed by a one-shot v1 client: answer what is pending, then close.
      const finish = () => (conn.inFlight === 0 ? socket.end() : setTimeout(finish, 5));
      finish();
    });
    socket.on('close', () => {
      conn.closed = true;
      conn.abort.abort();
      decoder.reset();
      this.connections.delete(conn);
    });
  }

  private dispatch(conn: ServerConnection, value: Record<string, unknown>): void {
    const o = this.options;
    const id = conn.version === 2 ? readId(value) : null;
    const wait = conn.bucket.take();
    if (wait > 0) {
      this.sendError(conn, id, new ProtocolError('rate_limited', 'too many requests on this connection', { retry_after_ms: wait }));
      return;
    }
    if (value.type === 'hello' && this.handleHello(conn, value)) return;
    const v = validateRequest(o.iface, conn.version, value);
    if (!v.ok) {
      this.sendError(conn, id, v.error);
      return;
    }
    const msg = v.message;
    if (conn.version === 2) {
      if (msg.type === 'ping') return this.write(conn, { type: 'pong', id });
      if (msg.type === 'subscribe') {
        for (const e of msg.events as string[]) conn.events.add(e);
        return this.write(conn, { type: 'subscribe_ok', id, events: [...conn.events] });
      }
      if (conn.inFlight >= o.maxInFlight) {
        this.sendError(conn, id, new ProtocolError('busy', 'too many requests in flight on this connection'));
        return;
      }
      void this.run(conn, msg, id);
    } else {
      conn.inFlight++;
      conn.serialize(async () => {
        conn.inFlight--;
        await this.run(conn, msg, null);
      });
    }
  }

  /** Returns true when the hello was handled here (version negotiation); v1 hellos go to the handler. */
  private handleHello(conn: ServerConnection, value: Record<string, unknown>): boolean {
    const versions = INTERFACES[this.options.iface].versions;
    const supported = Object.keys(versions).map(Number);
    const requested = value.version;
    if (requested === 1 && versions[1]) return false;
    if (requested === 2 && versions[2]) {
      const id = readId(value);
      const err = check(HelloV2, value);
      if (err) return this.sendError(conn, id, err), true;
      if (conn.negotiated) return this.sendError(conn, id, new ProtocolError('invalid_state', 'hello was already sent on this connection')), true;
      conn.version = 2;
      conn.negotiated = true;
      conn.inFlight++;
      void (async () => {
        try {
          const extra = this.options.helloExtra ? await this.options.helloExtra(conn) : {};
          this.reply(conn, { type: 'hello_ok', version: 2, server: this.options.serverName, ...extra }, id);
        } catch (e) {
          this.sendError(conn, id, toProtocolError(e, this.options.logger));
        } finally {
          this.done(conn);
        }
      })();
      return true;
    }
    // A client asking for another version is newer than v1: answer with a v2-shaped error.
    const err = new ProtocolError('unsupported_version', `version ${String(requested).slice(0, 16)} is not supported`, { supported });
    this.write(conn, { type: 'error', id: readId(value), code: err.code, message: err.message, ...err.extra });
    return true;
  }

  private async run(conn: ServerConnection, msg: Message, id: number | null): Promise<void> {
    conn.inFlight++;
    try {
      const reply = await this.options.handler(msg, { version: conn.version, connection: conn, signal: conn.abort.signal });
      if (reply) this.reply(conn, reply, id);
    } catch (e) {
      this.sendError(conn, id, toProtocolError(e, this.options.logger));
    } finally {
      this.done(conn);
    }
  }

  private done(conn: ServerConnection): void {
    conn.inFlight--;
    if (this.draining && [...this.connections].every((c) => c.inFlight === 0)) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private reply(conn: ServerConnection, reply: Record<string, unknown>, id: number | null): void {
    const out = conn.version === 2 ? withId(reply, id) : reply;
    const v = validateReply(this.options.iface, conn.version, out);
    if (!v.ok) {
      this.options.logger.error('handler produced an invalid reply', { type: String(reply.type), error: v.error.message });
      this.sendError(conn, id, new ProtocolError('internal', 'internal error'));
      return;
    }
    this.write(conn, out);
  }

  private sendError(conn: ServerConnection, id: number | null, err: ProtocolError): void {
    if (conn.version === 1 && INTERFACES[this.options.iface].versions[1]) {
      this.write(conn, { type: 'error', message: err.message });
      return;
    }
    this.write(conn, { type: 'error', id, code: err.code, message: err.message, ...err.extra });
  }

  private write(conn: ServerConnection, msg: Record<string, unknown>): void {
    if (conn.closed || conn.socket.destroyed) return;
    if (conn.socket.writableLength > this.options.maxBufferedBytes) {
      this.options.logger.warn('dropping a slow reader', { conn: conn.id });
      conn.socket.destroy();
      return;
    }
    let line: Uint8Array;
    try {
      line = encodeLine(msg);
    } catch (e) {
      this.options.logger.error('reply too large', { error: (e as Error).message });
      line = encodeLine({ type: 'error', id: (msg.id as number | undefined) ?? null, code: 'internal', message: 'reply too large' });
    }
    conn.socket.write(line);
  }
}

function withId(reply: Record<string, unknown>, id: number | null): Record<string, unknown> {
  const { type, ...rest } = reply;
  return { type, id, ...rest };
}

function toProtocolError(e: unknown, logger: ServerLogger): ProtocolError {
  if (e instanceof ProtocolError) return e;
  logger.error('request handler failed', { error: e instanceof Error ? e.message : String(e) });
  return new ProtocolError('internal' as ErrorCode, 'internal error');
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
