// Moved to the shared runtime (redbear-selftest seeds a root too); re-exported for old importers.
export * from '../runtime/seed-root.js';
