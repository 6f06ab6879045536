export * from './root.js';
export * from './daemons.js';
