/**
 * SecureFS over FUSE: mounts an open `SecureStore` so a session sees its encrypted home as an
 * ordinary directory tree. Semantics and limits: docs/accounts/securefs-home.md ("Mounted home").
 */
export { mountStore, mountDetached, forceUnmount, isMounted, mountType, FUSE_TYPE, DEFAULT_LOCKED_WAIT_MS, DEFAULT_MAX_FILE_BUFFER } from './mount.js';
export type { MountOptions, MountStats, StoreMount } from './mount.js';
export { loadFuse } from './binding.js';
export { FsErrno, toErrno } from './errno.js';
