import { SecureFsError } from './errors.js';

/**
 * Normalise a store path to "/a/b" form. Relative paths are taken from the root; "." segments and
 * repeated slashes are dropped; ".." may not climb above the root. NUL is rejected.
 */
export function normalizePath(p: string): string {
  if (typeof p !== 'string' || p.length === 0) throw new SecureFsError('invalid_path', 'path must be a non-empty string');
  if (p.includes('\0')) throw new SecureFsError('invalid_path', 'path contains NUL');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw new SecureFsError('invalid_path', `path escapes the store root: ${p}`, { path: p });
      out.pop();
      continue;
    }
    if (Buffer.byteLength(seg) > 255) throw new SecureFsError('invalid_path', 'path segment longer than 255 bytes', { path: p });
    out.push(seg);
  }
  return '/' + out.join('/');
}

export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** True when `p` is `dir` or inside it. */
export function isWithin(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}
