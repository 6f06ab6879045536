import { existsSync } from 'node:fs';
import { loadFuse } from '../../src/lib/securefs-fuse/index.js';

/** Real FUSE mounts need root, /dev/fuse and a loadable libfuse2 binding. */
export const canMount = (() => {
  if (process.getuid?.() !== 0 || !existsSync('/dev/fuse')) return false;
  try {
    loadFuse();
    return true;
  } catch {
    return false;
  }
})();
