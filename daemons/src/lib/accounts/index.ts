/**
 * Local account model: passwd/shadow/group/gshadow parsing and rewriting,
 * shadow-utils-compatible locking, and user operations. See
 * docs/accounts/account-files.md.
 */
export * from './errors.js';
export * from './paths.js';
export * from './formats.js';
export * from './account-file.js';
export * from './login-defs.js';
export * from './state.js';
export * from './fcntl-lock.js';
export * from './lock.js';
export * from './atomic-write.js';
export * from './validate.js';
export * from './home.js';
export * from './config.js';
export * from './allocate.js';
export * from './database.js';
export * from './users.js';
export * from './passwords.js';
export * from './query.js';
export * from './file-cache.js';
export * from './dir-watch.js';
