import { helloOk } from './envelope.js';

/**
 * Version 2 of the keystore socket (authd, sessiond, nx-home ↔ redbear-keystored; 0600 root).
 * keystored speaks no v1. The keystore issue fills in its messages here.
 */
export const KeystoreHelloOk = helloOk({}, 'Version 2 accepted.');

/** Every v2 message of the keystore socket besides the shared envelope. */
export const KEYSTORE_V2_MESSAGES = [KeystoreHelloOk];
