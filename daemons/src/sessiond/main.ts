#!/usr/bin/env node
import { INTERFACES } from '@redbear/protocol';
import { ProtocolServer } from '@redbear/protocol/node';
import { runDaemon, type DaemonContext, type Running } from '../runtime/index.js';
import { SESSIOND_DEFAULTS, SessiondConfigSchema, type SessiondConfig } from './config.js';
import { SessionManager } from './manager.js';
import { AuthdClient, KeystoreClientPort } from './ports.js';
import { authorizeRoot, sessionHandler } from './session.rpc.js';

/** redbear-sessiond: sessions, lock state and the encrypted home of one seat. */
export async function startSessiond(ctx: DaemonContext<SessiondConfig>): Promise<Running> {
  const { root, config, log } = ctx;
  const servers: ProtocolServer[] = [];
  const mgr = new SessionManager({
    root,
    config,
    log,
    authd: new AuthdClient(root.path(config.authd.socket), config.authd.timeout_ms),
    keystore: new KeystoreClientPort(root.path(config.keystore.socket), config.keystore.timeout_ms),
    emit: (event, payload) => {
      for (const s of servers) s.broadcast(event, payload);
    },
  });
  await mgr.start();
  const common = {
    iface: 'session' as const,
    serverName: 'redbear-sessiond',
    helloExtra: () => ({ seat: config.seat }),
    maxConnections: config.socket.max_connections,
    idleTimeoutMs: config.socket.idle_timeout_ms,
    rate: { perSecond: config.socket.requests_per_second, burst: config.socket.burst },
    logger: log,
  };
  const main = new ProtocolServer({
    ...common,
    socketPath: root.path(INTERFACES.session.socket),
    mode: 0o600,
    authorize: authorizeRoot,
    handler: sessionHandler(mgr, false),
    helloExtra: () => ({ seat: config.seat, read_only: false }),
  });
  servers.push(main);
  await main.listen();
  if (config.query_socket.enabled) {
    const query = new ProtocolServer({
      ...common,
      socketPath: root.path(config.query_socket.path),
      mode: 0o666,
      handler: sessionHandler(mgr, true),
      helloExtra: () => ({ seat: config.seat, read_only: true }),
    });
    servers.push(query);
    await query.listen();
  }
  log.info('sessiond serving', { sessions: mgr.list().length });
  return {
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await mgr.close();
    },
  };
}

await runDaemon({
  name: 'redbear-sessiond',
  summary: 'sessions, lock state and the encrypted home',
  configSchema: SessiondConfigSchema,
  defaults: SESSIOND_DEFAULTS,
  start: startSessiond,
});
