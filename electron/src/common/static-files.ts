import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Resolve a URL path to a file inside `dir`, refusing traversal and symlinks that leave it.
 * Returns null for anything that is not a regular file inside.
 */
export async function resolveStatic(dir: string, urlPath: string): Promise<string | null> {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath.split('?')[0]!);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  const wanted = path.resolve(dir, '.' + path.posix.normalize('/' + rel));
  const base = await fs.realpath(dir).catch(() => null);
  if (!base) return null;
  const real = await fs.realpath(wanted).catch(() => null);
  if (!real || (real !== base && !real.startsWith(base + path.sep))) return null;
  const st = await fs.stat(real).catch(() => null);
  return st?.isFile() ? real : null;
}
