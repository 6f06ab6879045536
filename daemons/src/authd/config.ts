import { Type, type Static } from '@sinclair/typebox';

/**
 * redbear-authd configuration. `config/defaults/authd.toml` documents every key and must equal
 * `AUTHD_DEFAULTS` (a test checks it). Times are milliseconds unless the key says otherwise.
 */
const Int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const Argv = Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 64 });

export const AuthdConfigSchema = Type.Object(
  {
    socket: Type.Object({ max_connections: Int(1, 100_000), idle_timeout_ms: Int(100, 3_600_000), requests_per_second: Int(1, 1_000_000), burst: Int(1, 1_000_000) }, { additionalProperties: false }),
    state_dir: Type.String({ pattern: '^/' }),
    throttle: Type.Object(
      {
        max_failures: Int(1, 1000),
        lockout_ms: Int(0, 86_400_000),
        lockout_max_ms: Int(0, 604_800_000),
        reset_after_ms: Int(1000, 2_592_000_000),
        failure_delay_ms: Int(0, 10_000),
        client_max_failures: Int(1, 100_000),
        client_window_ms: Int(1000, 86_400_000),
        max_tracked_users: Int(16, 1_000_000),
        save_interval_ms: Int(0, 60_000),
      },
      { additionalProperties: false },
    ),
    approvals: Type.Object({ ttl_ms: Int(100, 15_000), max_outstanding: Int(1, 100_000) }, { additionalProperties: false }),
    pin: Type.Object({ enabled: Type.Boolean(), max_failures: Int(1, 100), memory_kib: Int(1024, 1_048_576), time_cost: Int(1, 100) }, { additionalProperties: false }),
    hashing: Type.Object(
      {
        scheme: Type.Union([Type.Literal('sha512crypt'), Type.Literal('yescrypt'), Type.Literal('argon2id')]),
        sha512_rounds: Int(0, 999_999_999),
        calibrate_target_ms: Int(1, 5000),
        calibrate_max_rounds: Int(5000, 999_999_999),
        workers: Int(0, 64),
        max_queue: Int(1, 100_000),
        sha_crypt_backend: Type.Union([Type.Literal('auto'), Type.Literal('libxcrypt'), Type.Literal('builtin')]),
        worker_nice: Int(0, 19),
      },
      { additionalProperties: false },
    ),
    accounts: Type.Object(
      {
        admin_group: Type.String({ minLength: 1, maxLength: 32 }),
        default_shell: Type.String({ pattern: '^/' }),
        home_base: Type.String({ pattern: '^/' }),
        allow_empty_password: Type.Boolean(),
        hidden_users: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 1000 }),
        lock_timeout_ms: Int(100, 120_000),
      },
      { additionalProperties: false },
    ),
    password_policy: Type.Object({ min_length: Int(1, 1024), enforce_strength: Type.Boolean(), min_strength: Int(0, 4) }, { additionalProperties: false }),
    avatars: Type.Object({ max_bytes: Int(1024, 36 * 1024), icons_dir: Type.String({ pattern: '^/' }) }, { additionalProperties: false }),
    keystore: Type.Object({ enabled: Type.Boolean(), socket: Type.String({ pattern: '^/' }), timeout_ms: Int(100, 120_000) }, { additionalProperties: false }),
    power: Type.Object({ shutdown: Argv, reboot: Argv, timeout_ms: Int(100, 600_000) }, { additionalProperties: false }),
    v1: Type.Object({ session_command: Argv, session_timeout_ms: Int(0, 2_147_483_647) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

export type AuthdConfig = Static<typeof AuthdConfigSchema>;

/**
 * KDF worker threads: `[hashing] workers`, or with 0 (the default) one less than the cores,
 * at least 1 and at most 2 — so that wrong-password floods leave the event loop a core
 * (list_users, approvals and lock/unlock stay responsive) while a 1-core machine still verifies.
 */
export function kdfWorkers(configured: number, cores: number): number {
  if (configured > 0) return configured;
  return Math.max(1, Math.min(2, cores - 1));
}

export const AUTHD_DEFAULTS: AuthdConfig = {
  socket: { max_connections: 256, idle_timeout_ms: 60_000, requests_per_second: 50, burst: 100 },
  state_dir: '/var/lib/redbear/authd',
  throttle: {
    max_failures: 5,
    lockout_ms: 30_000,
    lockout_max_ms: 3_600_000,
    reset_after_ms: 86_400_000,
    failure_delay_ms: 1000,
    client_max_failures: 50,
    client_window_ms: 60_000,
    max_tracked_users: 10_000,
    save_interval_ms: 1000,
  },
  approvals: { ttl_ms: 15_000, max_outstanding: 1024 },
  pin: { enabled: true, max_failures: 3, memory_kib: 19_456, time_cost: 2 },
  hashing: {
    scheme: 'sha512crypt',
    sha512_rounds: 0,
    calibrate_target_ms: 250,
    calibrate_max_rounds: 2_000_000,
    workers: 0,
    max_queue: 256,
    sha_crypt_backend: 'auto',
    worker_nice: 10,
  },
  accounts: { admin_group: 'sudo', default_shell: '/bin/bash', home_base: '/home', allow_empty_password: false, hidden_users: [], lock_timeout_ms: 15_000 },
  password_policy: { min_length: 8, enforce_strength: false, min_strength: 2 },
  avatars: { max_bytes: 32 * 1024, icons_dir: '/var/lib/AccountsService/icons' },
  keystore: { enabled: true, socket: '/run/redbear-keystored.sock', timeout_ms: 5_000 },
  power: { shutdown: ['systemctl', 'poweroff'], reboot: ['systemctl', 'reboot'], timeout_ms: 30_000 },
  v1: { session_command: [], session_timeout_ms: 0 },
};
