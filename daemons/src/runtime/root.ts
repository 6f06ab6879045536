import path from 'node:path';

/**
 * The hermetic root: every absolute path a daemon uses resolves under it.
 * Production is `/`; tests, benchmarks and `npm start` use temporary directories.
 */
export class Root {
  readonly dir: string;
  constructor(dir: string) {
    if (!path.isAbsolute(dir)) throw new Error(`--root must be absolute: ${dir}`);
    this.dir = path.resolve(dir);
  }

  get isHost(): boolean {
    return this.dir === '/';
  }

  /** Map an absolute system path (e.g. `/etc/shadow`) into the root. */
  path(abs: string): string {
    if (!abs.startsWith('/')) throw new Error(`not an absolute path: ${abs}`);
    const norm = path.posix.normalize(abs);
    if (norm.split('/').includes('..')) throw new Error(`path escapes the root: ${abs}`);
    return this.isHost ? norm : path.join(this.dir, norm);
  }

  /** The system path of a file inside the root (inverse of `path`). */
  systemPath(real: string): string {
    if (this.isHost) return real;
    const rel = path.relative(this.dir, real);
    if (rel.startsWith('..')) throw new Error(`${real} is outside the root`);
    return '/' + rel;
  }
}
