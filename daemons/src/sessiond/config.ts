import { Type, type Static } from '@sinclair/typebox';

/**
 * redbear-sessiond configuration. `config/defaults/sessiond.toml` documents every key and must
 * equal `SESSIOND_DEFAULTS` (a test checks it). Times are milliseconds unless the key says otherwise.
 */
const Int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const Abs = Type.String({ pattern: '^/', maxLength: 4096 });
const Argv = (minItems: number) => Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems, maxItems: 64 });

export const SessiondConfigSchema = Type.Object(
  {
    seat: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }),
    state_dir: Abs,
    query_socket: Type.Object({ enabled: Type.Boolean(), path: Abs }, { additionalProperties: false }),
    socket: Type.Object(
      { max_connections: Int(1, 10_000), idle_timeout_ms: Int(100, 3_600_000), requests_per_second: Int(1, 1_000_000), burst: Int(1, 1_000_000) },
      { additionalProperties: false },
    ),
    authd: Type.Object({ socket: Abs, timeout_ms: Int(100, 120_000) }, { additionalProperties: false }),
    keystore: Type.Object(
      { socket: Abs, timeout_ms: Int(100, 120_000), require: Type.Boolean() },
      { additionalProperties: false },
    ),
    home: Type.Object(
      {
        base: Abs,
        uri_prefix: Type.String({ minLength: 1, maxLength: 256 }),
        mount: Type.Union([Type.Literal('home'), Type.Literal('none')]),
        skel: Type.Union([Abs, Type.Literal('')]),
        locked_wait_ms: Int(0, 120_000),
        write_buffer_mib: Int(1, 4096),
      },
      { additionalProperties: false },
    ),
    session: Type.Object(
      {
        command: Argv(1),
        dbus_run_session: Type.String({ maxLength: 4096 }),
        launcher: Argv(0),
        /**
         * Keep one bundled launcher started ahead of the next login (faster logins, ~40 MB
         * resident while idle). false: a launcher is started at login time only. Has no effect
         * with a configured `launcher` (never pre-started).
         */
        prewarm_launcher: Type.Boolean(),
        log_dir: Abs,
        start_timeout_ms: Int(100, 600_000),
        logout_grace_ms: Int(0, 600_000),
        leader_poll_ms: Int(10, 60_000),
      },
      { additionalProperties: false },
    ),
    lock: Type.Object(
      {
        idle_timeout_s: Int(0, 86_400),
        policy: Type.Union([Type.Literal('lock_domain'), Type.Literal('keep_open')]),
      },
      { additionalProperties: false },
    ),
    vt: Type.Object({ switch_command: Argv(0), greeter_vt: Int(1, 63) }, { additionalProperties: false }),
    validation: Type.Object({ request: Abs, success: Abs, timeout_ms: Int(100, 600_000) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

export type SessiondConfig = Static<typeof SessiondConfigSchema>;

export const SESSIOND_DEFAULTS: SessiondConfig = {
  seat: 'seat0',
  state_dir: '/run/redbear-sessiond',
  query_socket: { enabled: true, path: '/run/redbear-sessiond-query.sock' },
  socket: { max_connections: 64, idle_timeout_ms: 300_000, requests_per_second: 50, burst: 100 },
  authd: { socket: '/run/redbear-authd.sock', timeout_ms: 10_000 },
  keystore: { socket: '/run/redbear-keystored.sock', timeout_ms: 5_000, require: false },
  home: { base: '/state/secure/home', uri_prefix: 'state:/secure/home', mount: 'home', skel: '/etc/skel', locked_wait_ms: 5_000, write_buffer_mib: 256 },
  session: {
    command: ['redbear-kde-session'],
    dbus_run_session: '/usr/bin/dbus-run-session',
    launcher: [],
    prewarm_launcher: true,
    log_dir: '/var/log/redbear/sessions',
    start_timeout_ms: 15_000,
    logout_grace_ms: 5_000,
    leader_poll_ms: 500,
  },
  lock: { idle_timeout_s: 300, policy: 'lock_domain' },
  vt: { switch_command: ['chvt', '{vt}'], greeter_vt: 3 },
  validation: {
    request: '/run/redbear-kde-session.validation-request',
    success: '/run/redbear-kde-session.validation-success',
    timeout_ms: 10_000,
  },
};
