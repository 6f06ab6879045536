import { ProtocolError, type GreeterState } from '@redbear/protocol';

/**
 * The login state machine of redbear-greeterd (seed §9.3 plus TASK-0224's first boot and lock
 * screen). Pure: no I/O. The orchestrator asks it before doing anything and applies the
 * effects only when the transition is legal.
 *
 *              ┌──────── no_users ─────────┐
 *   starting ──┼──────── ready ────────────┼──▶ greeter_ready ◀──────────────┐
 *      │       └─ adopt ─▶ session_running │       │  submit                 │ ready
 *      │                                   │       ▼                         │
 *      │     first_boot ── submit ──▶ authenticating ── approved ─▶ launching_session
 *      │         ▲                         ▲   │ auth_failed (→ resume)      │ launch_failed (→ resume)
 *      │         │ no_users                │   ▼                             │ session_started
 *      │   returning_to_greeter ◀──────────┼── session_ended ───────── session_running
 *      │         ▲                  submit │                             ▲    │ lock
 *      │         └── session_ended ──── locked ── adopt (unlocked elsewhere) ┘◀───┘
 *      │                                   │ switch_user → greeter_ready
 *   any ── fatal ──▶ fatal_error           greeter_ready | first_boot | locked ── power ──▶ power_action
 *                                                                       power_failed (→ resume) │
 *                                                                    power_no_effect (→ resume) │
 *
 * `resume` is the screen a failed attempt goes back to (greeter_ready, first_boot or locked).
 * An unlock is a `submit` from `locked` whose launch step is sessiond's unlock.
 * `power_failed`: authd refused or the command failed. `power_no_effect`: the command succeeded
 * but the machine is still up after `power_settle_timeout_ms` — the user is not left on a
 * "shutting down" screen; the UI is told why (state event reason `power_no_effect`).
 */
export type GreeterAction =
  | 'ready'
  | 'no_users'
  | 'adopt'
  | 'lock'
  | 'submit'
  | 'auth_failed'
  | 'approved'
  | 'launch_failed'
  | 'session_started'
  | 'session_ended'
  | 'switch_user'
  | 'power'
  | 'power_failed'
  | 'power_no_effect'
  | 'fatal';

type Target = GreeterState | 'resume';

export const TRANSITIONS: Readonly<Record<GreeterState, Readonly<Partial<Record<GreeterAction, Target>>>>> = {
  starting: { ready: 'greeter_ready', no_users: 'first_boot', adopt: 'session_running', lock: 'locked', fatal: 'fatal_error' },
  first_boot: { submit: 'authenticating', ready: 'greeter_ready', lock: 'locked', power: 'power_action', fatal: 'fatal_error' },
  greeter_ready: { submit: 'authenticating', no_users: 'first_boot', lock: 'locked', adopt: 'session_running', power: 'power_action', fatal: 'fatal_error' },
  authenticating: { auth_failed: 'resume', approved: 'launching_session', fatal: 'fatal_error' },
  launching_session: { launch_failed: 'resume', session_started: 'session_running', fatal: 'fatal_error' },
  session_running: { session_ended: 'returning_to_greeter', lock: 'locked', fatal: 'fatal_error' },
  locked: { submit: 'authenticating', switch_user: 'greeter_ready', adopt: 'session_running', session_ended: 'returning_to_greeter', power: 'power_action', fatal: 'fatal_error' },
  returning_to_greeter: { ready: 'greeter_ready', no_users: 'first_boot', lock: 'locked', fatal: 'fatal_error' },
  power_action: { power_failed: 'resume', power_no_effect: 'resume', fatal: 'fatal_error' },
  fatal_error: {},
};

/** States a failed attempt may return to. */
const RESUMABLE: ReadonlySet<GreeterState> = new Set(['greeter_ready', 'first_boot', 'locked']);

export interface TransitionRecord {
  from: GreeterState;
  action: GreeterAction;
  to: GreeterState;
}

export class GreeterMachine {
  private current: GreeterState = 'starting';
  private resumeTo: GreeterState = 'greeter_ready';
  /** Why the machine is where it is (shown by the UI: "Login failed", …). */
  message = '';
  readonly history: TransitionRecord[] = [];

  get state(): GreeterState {
    return this.current;
  }

  /** Where a failed attempt returns to (meaningful in authenticating, launching_session, power_action). */
  get resume(): GreeterState {
    return this.resumeTo;
  }

  /** The state `action` leads to, or null when it is not allowed now. */
  peek(action: GreeterAction): GreeterState | null {
    const target = TRANSITIONS[this.current][action];
    if (!target) return null;
    return target === 'resume' ? this.resumeTo : target;
  }

  can(action: GreeterAction): boolean {
    return this.peek(action) !== null;
  }

  /** Apply a transition; illegal ones throw `invalid_state` and change nothing. */
  apply(action: GreeterAction, message = ''): GreeterState {
    const to = this.peek(action);
    if (to === null) throw new ProtocolError('invalid_state', `cannot ${action} while ${this.current}`);
    const from = this.current;
    if ((action === 'submit' || action === 'power') && RESUMABLE.has(from)) this.resumeTo = from;
    this.current = to;
    this.message = message;
    this.history.push({ from, action, to });
    if (this.history.length > 100) this.history.shift();
    return to;
  }
}

/** A v1 client knows only Red Bear's eight states. */
export function toV1State(s: GreeterState): Exclude<GreeterState, 'first_boot' | 'locked'> {
  if (s === 'first_boot' || s === 'locked') return 'greeter_ready';
  return s;
}
