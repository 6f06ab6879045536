import { helloOk } from './envelope.js';

/**
 * Version 2 of the session sockets (greeterd, nx-session ↔ redbear-sessiond).
 * sessiond speaks no v1. The sessiond issue fills in its messages here.
 */
export const SessionHelloOk = helloOk({}, 'Version 2 accepted.');

/** Every v2 message of the session sockets besides the shared envelope. */
export const SESSION_V2_MESSAGES = [SessionHelloOk];
