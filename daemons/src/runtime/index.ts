export * from './args.js';
export * from './config.js';
export * from './daemon.js';
export * from './logger.js';
export * from './ready.js';
export * from './redact.js';
export * from './root.js';
export * from './secret.js';
