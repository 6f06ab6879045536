import { Type, type Static } from '@sinclair/typebox';

/**
 * redbear-greeterd configuration. `config/defaults/greeterd.toml` documents every key and must
 * equal `GREETERD_DEFAULTS` (a test checks it). Times are milliseconds.
 *
 * Argv entries may use placeholders: `{vt}` (the greeter VT), `{root}` (the --root directory),
 * `{node}` (the Node binary running greeterd), `{socket}` (the real greeter socket path).
 */
const Int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const Abs = Type.String({ pattern: '^/', maxLength: 4096 });
const Argv = (minItems: number) => Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems, maxItems: 64 });
const Name = Type.String({ pattern: '^[a-z_][a-z0-9_-]*$', maxLength: 32 });

export const GreeterdConfigSchema = Type.Object(
  {
    socket: Type.Object(
      {
        group: Name,
        max_connections: Int(1, 100_000),
        idle_timeout_ms: Int(100, 3_600_000),
        requests_per_second: Int(1, 1_000_000),
        burst: Int(1, 1_000_000),
      },
      { additionalProperties: false },
    ),
    vt: Int(1, 63),
    assets: Type.Object({ background: Abs, icon: Abs }, { additionalProperties: false }),
    session: Type.Object(
      {
        /** The one supported session; its command is sessiond's `session.command`. */
        type: Type.Literal('kde-wayland'),
        name: Type.String({ minLength: 1, maxLength: 256 }),
      },
      { additionalProperties: false },
    ),
    ui: Type.Object(
      {
        command: Argv(1),
        /** Run the UI as this user (uid/gid from the root's /etc/passwd) when greeterd is root. */
        user: Name,
        /** Working directory of the UI ("" = greeterd's). */
        cwd: Type.String({ maxLength: 4096 }),
        /** Created 0700 for the UI user; handed over as REDBEAR_GREETER_RUNTIME_DIR. */
        runtime_dir: Abs,
        /** Extra environment of the UI (on top of a minimal clean one). */
        env: Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String({ maxLength: 4096 })),
        restart_max: Int(0, 100),
        restart_window_ms: Int(1_000, 3_600_000),
        restart_delay_ms: Int(0, 60_000),
        stop_timeout_ms: Int(10, 60_000),
      },
      { additionalProperties: false },
    ),
    commands: Type.Object(
      {
        /** Bring the greeter VT to the front. */
        activate_vt: Argv(0),
        /** The text console shown when the UI cannot be kept up (fatal_error). */
        console_fallback: Argv(0),
        timeout_ms: Int(100, 60_000),
      },
      { additionalProperties: false },
    ),
    authd: Type.Object(
      { socket: Abs, timeout_ms: Int(100, 120_000), auth_timeout_ms: Int(100, 120_000) },
      { additionalProperties: false },
    ),
    sessiond: Type.Object(
      { socket: Abs, timeout_ms: Int(100, 120_000), launch_timeout_ms: Int(100, 600_000) },
      { additionalProperties: false },
    ),
    first_boot: Type.Object({ continue_token_ttl_ms: Int(1_000, 600_000) }, { additionalProperties: false }),
    /**
     * After authd reports a successful shutdown/reboot command, how long the machine may stay up
     * before greeterd decides the action did not take effect and goes back to the screen it came
     * from (state event reason `power_no_effect`). 0 = wait in power_action for ever.
     */
    power_settle_timeout_ms: Type.Union([Type.Literal(0), Int(100, 3_600_000)]),
    /** Print the TASK-0224 markers (`ui: …`) on stdout as well as in the log. */
    markers: Type.Boolean(),
  },
  { additionalProperties: false },
);

export type GreeterdConfig = Static<typeof GreeterdConfigSchema>;

export const GREETERD_DEFAULTS: GreeterdConfig = {
  socket: { group: 'greeter', max_connections: 64, idle_timeout_ms: 300_000, requests_per_second: 20, burst: 40 },
  vt: 3,
  assets: { background: '/usr/share/redbear/greeter/background.png', icon: '/usr/share/redbear/greeter/icon.png' },
  session: { type: 'kde-wayland', name: 'KDE on Wayland' },
  ui: {
    command: ['redbear-greeter-ui'],
    user: 'greeter',
    cwd: '',
    runtime_dir: '/run/redbear-greeter',
    env: {},
    restart_max: 3,
    restart_window_ms: 60_000,
    restart_delay_ms: 500,
    stop_timeout_ms: 3_000,
  },
  commands: { activate_vt: ['chvt', '{vt}'], console_fallback: ['chvt', '2'], timeout_ms: 5_000 },
  authd: { socket: '/run/redbear-authd.sock', timeout_ms: 5_000, auth_timeout_ms: 20_000 },
  sessiond: { socket: '/run/redbear-sessiond.sock', timeout_ms: 5_000, launch_timeout_ms: 30_000 },
  first_boot: { continue_token_ttl_ms: 120_000 },
  power_settle_timeout_ms: 60_000,
  markers: true,
};
