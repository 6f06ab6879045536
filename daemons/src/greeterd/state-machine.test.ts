import { describe, expect, it } from 'vitest';
import { GREETER_STATES, GREETER_STATES_V1, type GreeterState } from '@redbear/protocol';
import { GreeterMachine, TRANSITIONS, toV1State, type GreeterAction } from './state-machine.js';

const ACTIONS: GreeterAction[] = [
  'ready', 'no_users', 'adopt', 'lock', 'submit', 'auth_failed', 'approved', 'launch_failed',
  'session_started', 'session_ended', 'switch_user', 'power', 'power_failed', 'power_no_effect', 'fatal',
];

/** Drive a fresh machine along a path of actions. */
function along(...path: GreeterAction[]): GreeterMachine {
  const m = new GreeterMachine();
  for (const a of path) m.apply(a);
  return m;
}

/** A path from starting to each state (so every transition can be tested from a real machine). */
const REACH: Record<GreeterState, GreeterAction[]> = {
  starting: [],
  greeter_ready: ['ready'],
  first_boot: ['no_users'],
  authenticating: ['ready', 'submit'],
  launching_session: ['ready', 'submit', 'approved'],
  session_running: ['adopt'],
  returning_to_greeter: ['adopt', 'session_ended'],
  locked: ['adopt', 'lock'],
  power_action: ['ready', 'power'],
  fatal_error: ['fatal'],
};

describe('greeter state machine', () => {
  it('names the seed states (snake_case) plus first_boot and locked', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...GREETER_STATES].sort());
    expect(new GreeterMachine().state).toBe('starting');
  });

  it('reaches every state', () => {
    for (const s of GREETER_STATES) expect(along(...REACH[s]).state).toBe(s);
  });

  it('applies exactly the transitions of the table and refuses every other one', () => {
    let legal = 0;
    for (const s of GREETER_STATES) {
      for (const a of ACTIONS) {
        const m = along(...REACH[s]);
        const target = TRANSITIONS[s][a];
        if (target) {
          legal++;
          const to = m.apply(a, 'why');
          expect(to).toBe(target === 'resume' ? m.resume : target);
          expect(m.message).toBe('why');
          expect(m.history.at(-1)).toEqual({ from: s, action: a, to });
        } else {
          expect(m.can(a)).toBe(false);
          expect(() => m.apply(a)).toThrow(/cannot/);
          expect(m.state).toBe(s);
        }
      }
    }
    expect(legal).toBeGreaterThan(30);
  });

  it('fatal_error is terminal', () => {
    const m = along('fatal');
    for (const a of ACTIONS) expect(m.can(a)).toBe(false);
  });

  it('a failed attempt returns to the screen it came from', () => {
    expect(along('ready', 'submit', 'auth_failed').state).toBe('greeter_ready');
    expect(along('no_users', 'submit', 'auth_failed').state).toBe('first_boot');
    expect(along('adopt', 'lock', 'submit', 'auth_failed').state).toBe('locked');
    expect(along('ready', 'submit', 'approved', 'launch_failed').state).toBe('greeter_ready');
    expect(along('adopt', 'lock', 'submit', 'approved', 'launch_failed').state).toBe('locked');
    expect(along('no_users', 'power', 'power_failed').state).toBe('first_boot');
    expect(along('adopt', 'lock', 'power', 'power_failed').state).toBe('locked');
  });

  it('a power action that did not take effect returns to the screen it came from', () => {
    expect(along('ready', 'power', 'power_no_effect').state).toBe('greeter_ready');
    expect(along('no_users', 'power', 'power_no_effect').state).toBe('first_boot');
    expect(along('adopt', 'lock', 'power', 'power_no_effect').state).toBe('locked');
    const m = along('ready', 'power');
    expect(m.resume).toBe('greeter_ready');
    expect(m.apply('power_no_effect', 'The shutdown did not take effect')).toBe('greeter_ready');
    expect(m.message).toBe('The shutdown did not take effect');
    // Only from power_action: nowhere else does it mean anything.
    for (const s of GREETER_STATES) expect(TRANSITIONS[s].power_no_effect !== undefined).toBe(s === 'power_action');
    // power_action is never a dead end: besides fatal, both of its ways out resume.
    expect(TRANSITIONS.power_action).toEqual({ power_failed: 'resume', power_no_effect: 'resume', fatal: 'fatal_error' });
  });

  it('the full login loop', () => {
    const m = along('ready', 'submit', 'approved', 'session_started', 'session_ended', 'ready');
    expect(m.history.map((h) => h.to)).toEqual(['greeter_ready', 'authenticating', 'launching_session', 'session_running', 'returning_to_greeter', 'greeter_ready']);
  });

  it('lock, switch user, log in as another user, unlock', () => {
    const m = along('adopt', 'lock', 'switch_user');
    expect(m.state).toBe('greeter_ready');
    m.apply('submit');
    m.apply('approved');
    expect(m.apply('session_started')).toBe('session_running');
    expect(m.apply('lock')).toBe('locked');
    expect(m.apply('adopt')).toBe('session_running');
  });

  it('one login at a time: no submit while authenticating or launching', () => {
    expect(along('ready', 'submit').can('submit')).toBe(false);
    expect(along('ready', 'submit', 'approved').can('submit')).toBe(false);
    expect(along('adopt').can('submit')).toBe(false);
  });

  it('never reaches session_running without an approval', () => {
    for (const s of GREETER_STATES) {
      if (TRANSITIONS[s].session_started) expect(s).toBe('launching_session');
    }
    expect(TRANSITIONS.authenticating.approved).toBe('launching_session');
  });

  it('maps states for v1 clients', () => {
    for (const s of GREETER_STATES) expect(GREETER_STATES_V1).toContain(toV1State(s));
    expect(toV1State('first_boot')).toBe('greeter_ready');
    expect(toV1State('locked')).toBe('greeter_ready');
    expect(toV1State('session_running')).toBe('session_running');
  });
});
