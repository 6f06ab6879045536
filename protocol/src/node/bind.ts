import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export class SocketInUseError extends Error {
  constructor(readonly socketPath: string) {
    super(`another server is listening on ${socketPath}`);
    this.name = 'SocketInUseError';
  }
}

/**
 * Remove a stale socket file safely: only a socket (never a regular file or a symlink),
 * and only when nobody answers on it.
 */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to remove it`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new SocketInUseError(socketPath);
  await fs.unlink(socketPath);
}

export interface BindOptions {
  mode: number;
  uid?: number;
  gid?: number;
}

/** Listen on a Unix socket whose mode and owner are set before anyone can connect. */
export async function listenUnix(server: net.Server, socketPath: string, opts: BindOptions): Promise<void> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true });
  await removeStaleSocket(socketPath);
  // The umask makes the socket 0600 at bind; chmod/chown then widen it deliberately.
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once('error', onError);
      server.listen(socketPath, () => {
        server.off('error', onError);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  if (opts.uid !== undefined || opts.gid !== undefined) {
    await fs.chown(socketPath, opts.uid ?? -1, opts.gid ?? -1);
  }
  await fs.chmod(socketPath, opts.mode);
  const st = await fs.lstat(socketPath);
  if ((st.mode & 0o777) !== opts.mode) throw new Error(`socket mode ${st.mode & 0o777} != ${opts.mode}`);
}
