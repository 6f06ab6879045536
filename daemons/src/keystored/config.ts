import { Type, type Static } from '@sinclair/typebox';

const Kdf = Type.Object(
  {
    memory_kib: Type.Integer({ minimum: 1024, maximum: 4 * 1024 * 1024 }),
    time_cost: Type.Integer({ minimum: 1, maximum: 64 }),
    parallelism: Type.Integer({ minimum: 1, maximum: 16 }),
  },
  { additionalProperties: false },
);

export const KeystoredConfigSchema = Type.Object(
  {
    socket: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' }),
    state_dir: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' }),
    challenge_ttl_ms: Type.Integer({ minimum: 1000, maximum: 30_000 }),
    grant_ttl_ms: Type.Integer({ minimum: 1000, maximum: 15_000 }),
    session_ttl_ms: Type.Integer({ minimum: 60_000, maximum: 90 * 24 * 3600 * 1000 }),
    max_challenges: Type.Integer({ minimum: 16, maximum: 65536 }),
    max_challenges_per_uid: Type.Integer({ minimum: 1, maximum: 256 }),
    max_connections: Type.Integer({ minimum: 1, maximum: 4096 }),
    requests_per_second: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    request_burst: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    max_in_flight: Type.Integer({ minimum: 1, maximum: 1024 }),
    password_kdf: Kdf,
    pin_kdf: Kdf,
    throttle: Type.Object(
      {
        free_failures: Type.Integer({ minimum: 1, maximum: 100 }),
        base_delay_ms: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
        max_delay_ms: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3_600_000 }),
        pin_max_failures: Type.Integer({ minimum: 1, maximum: 10 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type KeystoredConfig = Static<typeof KeystoredConfigSchema>;

/** Must match config/defaults/keystored.toml exactly (a test compares them). */
export const KEYSTORED_DEFAULTS: KeystoredConfig = {
  socket: '/run/redbear-keystored.sock',
  state_dir: '/var/lib/redbear/keystore',
  challenge_ttl_ms: 30_000,
  grant_ttl_ms: 15_000,
  session_ttl_ms: 30 * 24 * 3600 * 1000,
  max_challenges: 1024,
  max_challenges_per_uid: 8,
  max_connections: 256,
  requests_per_second: 2000,
  request_burst: 4000,
  max_in_flight: 64,
  password_kdf: { memory_kib: 65536, time_cost: 3, parallelism: 1 },
  pin_kdf: { memory_kib: 65536, time_cost: 3, parallelism: 1 },
  throttle: { free_failures: 5, base_delay_ms: 1000, max_delay_ms: 3_600_000, pin_max_failures: 3 },
};
