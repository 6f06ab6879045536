// Browser side of the web shell: window.greeter over a WebSocket, the same verbs the
// Electron preload exposes. The launch token arrives in the URL fragment.
import type { ui } from '@redbear/protocol';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

const METHODS: readonly ui.GreeterApiMethod[] = ['hello', 'listUsers', 'login', 'loginPin', 'changeExpiredPassword', 'createFirstUser', 'completeFirstBoot', 'unlock', 'switchUser', 'requestShutdown', 'requestReboot', 'reportScreen', 'reportActivity'];

const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
// Keep the token out of history and screenshots once read.
history.replaceState(null, '', location.pathname + location.search);

const listeners = new Set<ui.GreeterEventListener>();
const pending = new Map<number, Pending>();
let nextId = 1;
let ws: WebSocket | null = null;
let ready: Promise<void> | null = null;

function emit(e: ui.GreeterEvent): void {
  for (const l of listeners) l(e);
}

function connect(): Promise<void> {
  if (ready) return ready;
  ready = new Promise<void>((resolve, reject) => {
    const sock = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api`);
    ws = sock;
    sock.onopen = () => sock.send(JSON.stringify({ token }));
    sock.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { ready?: boolean; connected?: boolean; id?: number; result?: unknown; error?: string; event?: ui.GreeterEvent };
      if (msg.ready) {
        resolve();
        emit({ kind: 'connection', connected: Boolean(msg.connected) });
        return;
      }
      if (msg.event) return emit(msg.event);
      const p = msg.id === undefined ? undefined : pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    };
    sock.onclose = () => {
      ready = null;
      ws = null;
      for (const p of pending.values()) p.reject(new Error('unavailable'));
      pending.clear();
      emit({ kind: 'connection', connected: false });
      reject(new Error('unavailable'));
      // The shell may come back (greeterd restarts the UI); try again shortly.
      setTimeout(() => void connect().catch(() => undefined), 1000);
    };
  });
  return ready;
}

async function call(method: ui.GreeterApiMethod, args: unknown[]): Promise<unknown> {
  await connect();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    ws!.send(JSON.stringify({ id, method, args }));
  });
}

const api: Record<string, unknown> = {
  onEvent(listener: ui.GreeterEventListener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
for (const m of METHODS) api[m] = (...args: unknown[]) => call(m, args);

Object.defineProperty(window, 'greeter', { value: Object.freeze(api), writable: false, configurable: false });
void connect().catch(() => undefined);
