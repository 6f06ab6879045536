import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { INTERFACES } from '@redbear/protocol';
import { ProtocolServer } from '@redbear/protocol/node';
import { CryptWorkerPool, type ShaCryptImplementation } from '../lib/crypt/index.js';
import type { DaemonContext, Running } from '../runtime/index.js';
import { AccountAdmin } from './admin.js';
import { Approvals } from './approvals.js';
import { makeHandler } from './auth.rpc.js';
import { Authenticator } from './authenticator.js';
import { systemClock, type Clock } from './clock.js';
import { kdfWorkers, type AuthdConfig } from './config.js';
import { Hasher } from './hashing.js';
import { openKeystore, type KeystorePort } from './keystore.js';
import { PinStore } from './pins.js';
import { Power } from './power.js';
import { JsonStateFile } from './state-file.js';
import { Throttle } from './throttle.js';
import { UserDirectory } from './user-directory.js';

export interface AuthdOptions {
  now?: Clock;
  keystore?: KeystorePort;
  socketPath?: string;
  /** Tests: libraries the crypt workers try for libxcrypt (`[]` = unavailable, to exercise the fallback). */
  libxcryptCandidates?: readonly string[];
}

/** How `$5$`/`$6$` are verified, as resolved at start-up (also logged as "password hashing"). */
export interface HashingStatus {
  /** `[hashing] sha_crypt_backend` as configured. */
  configured: AuthdConfig['hashing']['sha_crypt_backend'];
  /** What computes SHA-crypt in the workers. */
  shaCrypt: ShaCryptImplementation;
  /** Where libxcrypt was loaded from, or null. */
  libxcrypt: string | null;
  /** Why libxcrypt is not available (null when it is). */
  libxcryptError: string | null;
  workers: number;
  /** Nice value the KDF worker threads run at (null when it cannot be read). */
  workerNice: number | null;
  sha512Rounds: number;
}

export interface AuthdService extends Running {
  server: ProtocolServer;
  throttle: Throttle;
  approvals: Approvals;
  auth: Authenticator;
  admin: AccountAdmin;
  hashing: HashingStatus;
}

/** Wire authd together: state, crypt pool, socket. `main.ts` calls this through runDaemon; tests may call it in-process. */
export async function startAuthd(ctx: DaemonContext<AuthdConfig>, opts: AuthdOptions = {}): Promise<AuthdService> {
  const { root, config: cfg, log } = ctx;
  const now = opts.now ?? systemClock;
  const stateDir = root.path(cfg.state_dir);
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  await fs.chmod(stateDir, 0o700);
  const onStateError = (e: unknown) => log.error('cannot write state file', { error: e instanceof Error ? e : String(e) });

  const pool = new CryptWorkerPool({
    size: kdfWorkers(cfg.hashing.workers, availableParallelism()),
    maxQueue: cfg.hashing.max_queue,
    shaCryptBackend: cfg.hashing.sha_crypt_backend,
    nice: cfg.hashing.worker_nice,
    ...(opts.libxcryptCandidates ? { libxcryptCandidates: opts.libxcryptCandidates } : {}),
  });
  let hashing: HashingStatus;
  let hasher: Hasher;
  try {
    const probe = await pool.probe();
    const configured = cfg.hashing.sha_crypt_backend;
    if (configured === 'libxcrypt' && probe.libxcrypt === null) {
      throw new Error(`[hashing] sha_crypt_backend = "libxcrypt" but libxcrypt is unavailable: ${probe.libxcryptError ?? 'unknown reason'}`);
    }
    hasher = await Hasher.create(cfg.hashing, pool);
    hashing = {
      configured,
      shaCrypt: configured !== 'builtin' && probe.libxcrypt !== null ? 'libxcrypt' : 'builtin',
      libxcrypt: probe.libxcrypt,
      libxcryptError: probe.libxcryptError,
      workers: pool.size,
      workerNice: probe.nice,
      sha512Rounds: hasher.sha512Rounds,
    };
  } catch (e) {
    await pool.close();
    throw e;
  }
  log.info('password hashing', {
    scheme: cfg.hashing.scheme,
    sha512_rounds: hashing.sha512Rounds,
    workers: hashing.workers,
    worker_nice: hashing.workerNice,
    sha_crypt_backend: hashing.shaCrypt,
    sha_crypt_backend_configured: hashing.configured,
    libxcrypt: hashing.libxcrypt ?? `unavailable: ${hashing.libxcryptError ?? 'unknown reason'}`,
  });
  if (hashing.configured === 'auto' && hashing.shaCrypt === 'builtin') {
    log.warn('libxcrypt is unavailable: $5$/$6$ hashes are verified by the built-in implementation (slower per round)', { reason: hashing.libxcryptError });
  }

  const throttle = new Throttle(cfg.throttle, now);
  const throttleFile = new JsonStateFile(path.join(stateDir, 'throttle.json'), () => throttle.snapshot(), onStateError, {
    minIntervalMs: cfg.throttle.save_interval_ms,
  });
  throttle.restore(await JsonStateFile.read(throttleFile.file));
  const pins = await PinStore.open(stateDir, cfg.pin, pool, onStateError);
  const keystore = opts.keystore ?? openKeystore({ enabled: cfg.keystore.enabled, socketPath: root.path(cfg.keystore.socket), timeoutMs: cfg.keystore.timeout_ms });
  const approvals = new Approvals(cfg.approvals.ttl_ms, cfg.approvals.max_outstanding, now);
  const auth = new Authenticator({ root: root.dir, cfg, hasher, throttle, throttleFile, pins, keystore, approvals, log, now });

  let server: ProtocolServer | null = null;
  const admin = new AccountAdmin({
    root: root.dir,
    cfg,
    hasher,
    pins,
    keystore,
    auth,
    log,
    changed: () => void server?.broadcast('users_changed', {}),
  });
  const directory = new UserDirectory(root, cfg, pins);
  const power = new Power(cfg.power, log);
  const selfUid = process.getuid?.() ?? 0;

  server = new ProtocolServer({
    iface: 'auth',
    socketPath: opts.socketPath ?? root.path(INTERFACES.auth.socket),
    mode: 0o600,
    serverName: 'redbear-authd',
    handler: makeHandler({ root: root.dir, cfg, auth, admin, approvals, directory, power, log }),
    authorize: (peer) => peer === null || peer.uid === 0 || peer.uid === selfUid,
    maxConnections: cfg.socket.max_connections,
    idleTimeoutMs: cfg.socket.idle_timeout_ms,
    rate: { perSecond: cfg.socket.requests_per_second, burst: cfg.socket.burst },
    logger: log,
  });
  await server.listen();
  log.info('listening', { socket: root.systemPath(server.options.socketPath) });

  const srv = server;
  return {
    server: srv,
    throttle,
    approvals,
    auth,
    admin,
    hashing,
    async close() {
      await srv.close();
      await throttleFile.flush();
      await pins.flush();
      keystore.close?.();
      await pool.close();
    },
  };
}
