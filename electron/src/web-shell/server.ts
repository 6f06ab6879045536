import http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ui } from '@redbear/protocol';
import { GreeterdBridge } from '../common/bridge.js';
import { contentSecurityPolicy, MIME, SECURITY_HEADERS } from '../common/csp.js';
import { resolveStatic } from '../common/static-files.js';
import { BadCallError, validateCall } from '../common/validate-call.js';

export interface WebShellOptions {
  /** greeterd's socket. */
  socketPath: string;
  /** The hermetic root: assets greeterd announces are system paths inside it. */
  root: string;
  rendererDir: string;
  clientScript: string;
  host?: string;
  port?: number;
  locale?: string;
  log?: (msg: string) => void;
}

const MAX_WS_MESSAGE = 64 * 1024;

/**
 * The web shell: the built renderer over HTTP on loopback and the renderer API over a
 * WebSocket that only a page holding this launch's token may use.
 */
export class WebShell {
  readonly token = randomBytes(32).toString('base64url');
  readonly bridge: GreeterdBridge;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private origin = '';

  constructor(private readonly opts: WebShellOptions) {
    this.bridge = new GreeterdBridge({
      socketPath: opts.socketPath,
      assetUrl: (kind) => `/asset/${kind}`,
      avatarUrl: (username) => `/avatar/${encodeURIComponent(username)}?t=${this.token}`,
      locale: opts.locale,
    });
    this.server = http.createServer((req, res) => void this.serve(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE });
    this.server.on('upgrade', (req, socket, head) => {
      if (req.url !== '/api' || req.headers.origin !== this.origin) {
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
  }

  /** Listen; resolves with the URL to open (the token travels in the fragment, never to a server log). */
  async listen(): Promise<string> {
    this.bridge.start();
    await new Promise<void>((resolve) => this.server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', resolve));
    const addr = this.server.address() as { port: number };
    this.origin = `http://${this.opts.host ?? '127.0.0.1'}:${addr.port}`;
    return `${this.origin}/#token=${this.token}`;
  }

  async close(): Promise<void> {
    this.bridge.stop();
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private tokenOk(given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private headers(type: string): Record<string, string> {
    return { 'Content-Type': type, 'Content-Security-Policy': contentSecurityPolicy([this.origin.replace('http', 'ws')]), ...SECURITY_HEADERS };
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, SECURITY_HEADERS).end();
      return;
    }
    try {
      if (url.pathname === '/asset/background' || url.pathname === '/asset/icon') {
        const announced = this.bridge.assets[url.pathname.endsWith('icon') ? 'icon' : 'background'];
        if (!announced || !announced.startsWith('/')) return void res.writeHead(404, SECURITY_HEADERS).end();
        const file = path.join(this.opts.root, path.posix.normalize(announced));
        const data = await fs.readFile(file);
        return void res.writeHead(200, this.headers(MIME[path.extname(file)] ?? 'application/octet-stream')).end(data);
      }
      if (url.pathname.startsWith('/avatar/')) {
        if (!this.tokenOk(url.searchParams.get('t'))) return void res.writeHead(403, SECURITY_HEADERS).end();
        const a = await this.bridge.avatar(decodeURIComponent(url.pathname.slice('/avatar/'.length)));
        if (!a) return void res.writeHead(404, SECURITY_HEADERS).end();
        return void res.writeHead(200, this.headers(a.mime)).end(a.data);
      }
      if (url.pathname === '/shell/web-client.js') {
        return void res.writeHead(200, this.headers(MIME['.js']!)).end(await fs.readFile(this.opts.clientScript));
      }
      const file = await resolveStatic(this.opts.rendererDir, url.pathname === '/' ? '/index.html' : url.pathname);
      if (!file) return void res.writeHead(404, SECURITY_HEADERS).end();
      let body: Buffer | string = await fs.readFile(file);
      if (path.basename(file) === 'index.html') {
        // The web client defines window.greeter before the app's module script runs.
        body = body.toString('utf8').replace('<head>', '<head>\n    <script type="module" src="/shell/web-client.js"></script>');
      }
      res.writeHead(200, this.headers(MIME[path.extname(file)] ?? 'application/octet-stream')).end(body);
    } catch {
      res.writeHead(500, SECURITY_HEADERS).end();
    }
  }

  private onSocket(ws: WebSocket): void {
    let authed = false;
    const authTimer = setTimeout(() => ws.close(4401, 'no token'), 3_000);
    const forward = (e: ui.GreeterEvent) => ws.send(JSON.stringify({ event: e }));
    ws.on('message', async (raw) => {
      let m: { token?: unknown; id?: unknown; method?: unknown; args?: unknown };
      try {
        m = JSON.parse(raw.toString());
      } catch {
        return ws.close(4400, 'bad json');
      }
      if (!authed) {
        if (!this.tokenOk(m.token)) return ws.close(4401, 'bad token');
        authed = true;
        clearTimeout(authTimer);
        this.bridge.on('event', forward);
        ws.send(JSON.stringify({ ready: true, connected: this.bridge.client.connected }));
        return;
      }
      const id = m.id;
      if (!Number.isSafeInteger(id)) return ws.close(4400, 'bad id');
      try {
        const call = validateCall(m.method, m.args);
        const result = await this.bridge.call(call.method, call.args);
        ws.send(JSON.stringify({ id, result: result ?? null }));
      } catch (e) {
        if (e instanceof BadCallError) {
          this.opts.log?.(`web shell: rejected call: ${e.message}`);
          return ws.close(4400, 'bad call');
        }
        ws.send(JSON.stringify({ id, error: 'unavailable' }));
      }
    });
    ws.on('close', () => {
      clearTimeout(authTimer);
      this.bridge.off('event', forward);
    });
  }
}
