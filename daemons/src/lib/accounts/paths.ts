import path from 'node:path';

/** The four account databases, in shadow-utils' canonical locking order. */
export const ACCOUNT_FILES = ['passwd', 'shadow', 'group', 'gshadow'] as const;
export type AccountFileName = (typeof ACCOUNT_FILES)[number];

/**
 * Resolve an absolute in-system path (e.g. `/etc/passwd`) under `root`.
 * `root` is `/` in production and a temporary directory in tests.
 */
export function underRoot(root: string, absPath: string): string {
  if (!path.isAbsolute(absPath)) throw new Error(`expected an absolute path, got ${absPath}`);
  const resolved = path.resolve(root, '.' + path.posix.normalize(absPath));
  const base = path.resolve(root);
  if (resolved !== base && !resolved.startsWith(base.endsWith(path.sep) ? base : base + path.sep)) {
    throw new Error(`path ${absPath} escapes root ${root}`);
  }
  return resolved;
}

export function etcPath(root: string, name: string): string {
  return underRoot(root, `/etc/${name}`);
}
