import { ProtocolServer } from '@redbear/protocol/node';
import { runDaemon, type DaemonContext, type Running } from '../runtime/index.js';
import { KEYSTORED_DEFAULTS, KeystoredConfigSchema, type KeystoredConfig } from './config.js';
import { keystoreHandler } from './handler.js';
import { Keystore } from './keystore.js';
import { StateStore } from './state.js';

/** Start keystored in a root (also used by tests in-process). */
export async function startKeystored(ctx: DaemonContext<KeystoredConfig>): Promise<Running & { keystore: Keystore }> {
  const { root, config, log } = ctx;
  const state = new StateStore(root.path(config.state_dir));
  await state.init();
  const pepper = await state.pepper();
  const keystore = new Keystore(config, state, pepper, log);
  await keystore.init();
  const myUid = process.getuid?.() ?? 0;
  const server = new ProtocolServer({
    iface: 'keystore',
    socketPath: root.path(config.socket),
    mode: 0o600,
    serverName: 'redbear-keystored',
    handler: keystoreHandler(keystore),
    // The socket is 0600; SO_PEERCRED double-checks (root, or the daemon's own uid in tests).
    authorize: (peer) => peer === null || peer.uid === 0 || peer.uid === myUid,
    maxConnections: config.max_connections,
    // Per connection: sessiond asks for a key per file it opens, so this is generous.
    rate: { perSecond: config.requests_per_second, burst: config.request_burst },
    maxInFlight: config.max_in_flight,
    logger: log,
  });
  await server.listen();
  log.info('listening', { socket: config.socket, state_dir: config.state_dir });
  return {
    keystore,
    async close() {
      await server.close();
      keystore.shutdown();
    },
  };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  await runDaemon({
    name: 'redbear-keystored',
    summary: 'per-user master keys that only a login unlocks (never exported)',
    configSchema: KeystoredConfigSchema,
    defaults: KEYSTORED_DEFAULTS,
    start: startKeystored,
  });
}
