/**
 * greeterd's state names, with no imports so the renderer can use them without pulling in
 * the validators. The first eight are Red Bear's (v1); TASK-0224 adds first-boot setup and the
 * lock screen (v2).
 */
export const GREETER_STATES_V1 = [
  'starting',
  'greeter_ready',
  'authenticating',
  'launching_session',
  'session_running',
  'returning_to_greeter',
  'power_action',
  'fatal_error',
] as const;
export type GreeterStateV1 = (typeof GREETER_STATES_V1)[number];

export const GREETER_STATES = [...GREETER_STATES_V1, 'first_boot', 'locked'] as const;
export type GreeterState = (typeof GREETER_STATES)[number];
