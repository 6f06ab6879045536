// Moved to the shared runtime (redbear-selftest starts a stack too); re-exported for old importers.
export * from '../runtime/spawn-daemon.js';
