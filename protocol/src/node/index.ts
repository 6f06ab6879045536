/** @redbear/protocol/node — the Unix-socket transport for the pure protocol. */
export * from './bind.js';
export * from './peercred.js';
export * from './token-bucket.js';
export * from './server.js';
export * from './client.js';
export * from './reconnecting-client.js';
