/**
 * @redbear/protocol — the pure part: message shapes, validators, error codes and framing.
 * No `node:*` imports here (enforced by lint and by this project's empty `types`).
 */
export * from './errors.js';
export * from './framing.js';
export * from './schema-kit.js';
export * from './envelope.js';
export * as v1 from './v1.js';
export { GREETER_STATES_V1, type GreeterStateV1 } from './v1.js';
export * as greeter from './greeter.js';
export { GREETER_STATES, type GreeterState } from './greeter.js';
export * as auth from './auth.js';
export * as keystore from './keystore.js';
export * as session from './session.js';
export * from './records.js';
export * from './registry.js';
export * from './validate.js';
export * as ui from './ui-api.js';
