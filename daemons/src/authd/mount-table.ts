import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const POLLPRI = 0x2;
const POLLERR = 0x8;
const FALLBACK_REREAD_MS = 500;

/** FUSE mount points of this process's mount namespace, as of the last change. */
export interface MountSnapshot {
  /** Changes whenever the mount table was seen to change. */
  readonly gen: number;
  readonly fuse: readonly string[];
}

/**
 * The FUSE mount points listed in /proc/self/mountinfo, re-read only when the kernel says the
 * table changed: the file is pollable (proc(5): a mount or unmount marks it POLLPRI|POLLERR),
 * and one non-blocking poll(2) per call, through koffi, tells. So a SecureFS home mounted
 * before a request is known to that request, at the cost of one system call. Without koffi the
 * table is re-read at most every 500 ms.
 */
export class MountTable {
  private fd = -1;
  private poll: ((fds: Buffer, n: number, timeoutMs: number) => number) | null = null;
  private readonly pfd = Buffer.alloc(8);
  private snap: MountSnapshot = { gen: 0, fuse: [] };
  private readAt = -Infinity;

  constructor(private readonly file = '/proc/self/mountinfo') {
    try {
      const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
      const libc = koffi.load('libc.so.6');
      this.poll = libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)') as (fds: Buffer, n: number, t: number) => number;
      this.fd = openSync(file, 'r');
    } catch {
      this.poll = null;
    }
  }

  current(): MountSnapshot {
    if (this.changed()) this.reread();
    return this.snap;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.poll = null;
  }

  private changed(): boolean {
    if (this.readAt === -Infinity) {
      this.pollOnce(); // the first poll reports the table as changed; consume that
      return true;
    }
    if (!this.poll || this.fd < 0) return performance.now() - this.readAt > FALLBACK_REREAD_MS;
    return this.pollOnce();
  }

  private pollOnce(): boolean {
    if (!this.poll || this.fd < 0) return false;
    // struct pollfd { int fd; short events; short revents; }
    this.pfd.writeInt32LE(this.fd, 0);
    this.pfd.writeInt16LE(POLLPRI, 4);
    this.pfd.writeInt16LE(0, 6);
    const n = this.poll(this.pfd, 1, 0);
    return n > 0 && (this.pfd.readInt16LE(6) & (POLLPRI | POLLERR)) !== 0;
  }

  private reread(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      // keep the empty list
    }
    const fuse: string[] = [];
    for (const line of text.split('\n')) {
      const [pre, post] = line.split(' - ');
      if (!pre || !post || !post.startsWith('fuse')) continue;
      const mp = pre.split(' ')[4];
      if (mp) fuse.push(mp.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
    }
    this.readAt = performance.now();
    this.snap = { gen: this.snap.gen + 1, fuse };
  }
}
