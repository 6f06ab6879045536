import { readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

type Fcntl = (fd: number, cmd: number, ...rest: unknown[]) => number;
let fcntl: Fcntl | null = null;

function load(): Fcntl {
  if (fcntl) return fcntl;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  fcntl = koffi.load('libc.so.6').func('int fcntl(int fd, int cmd, ...)') as Fcntl;
  return fcntl;
}

/**
 * libfuse 2 opens /dev/fuse without O_CLOEXEC, so every process sessiond spawns afterwards (the
 * session launcher and the whole desktop session) would inherit the FUSE connection: it would
 * keep a dead mount hanging after sessiond exits, and a user process could read and answer
 * requests of the connection. Mark every /dev/fuse descriptor of this process close-on-exec.
 * Returns how many were changed; throws when it cannot (the caller must not keep the mount).
 */
export function cloexecFuseFds(): number {
  const f = load();
  let changed = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    if (target !== '/dev/fuse') continue;
    const flags = f(fd, F_GETFD);
    if (flags < 0) throw new Error(`fcntl(F_GETFD) on /dev/fuse fd ${fd} failed`);
    if (flags & FD_CLOEXEC) continue;
    if (f(fd, F_SETFD, 'int', flags | FD_CLOEXEC) < 0) throw new Error(`fcntl(F_SETFD) on /dev/fuse fd ${fd} failed`);
    changed++;
  }
  return changed;
}
