import { createRequire } from 'node:module';

/** The part of fuse-native's callback API this module uses (CommonJS, no bundled types). */
export type Cb = (code: number) => void;
export type ValueCb<T> = (code: number, value?: T) => void;

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export interface FuseOps {
  init(cb: Cb): void;
  getattr(path: string, cb: ValueCb<FuseStat>): void;
  readdir(path: string, cb: (code: number, names?: string[], stats?: FuseStat[]) => void): void;
  open(path: string, flags: number, cb: ValueCb<number>): void;
  create(path: string, mode: number, cb: ValueCb<number>): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb): void;
  write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb): void;
  flush(path: string, fd: number, cb: Cb): void;
  fsync(path: string, datasync: number, fd: number, cb: Cb): void;
  release(path: string, fd: number, cb: Cb): void;
  truncate(path: string, size: number, cb: Cb): void;
  ftruncate(path: string, fd: number, size: number, cb: Cb): void;
  unlink(path: string, cb: Cb): void;
  mkdir(path: string, mode: number, cb: Cb): void;
  rmdir(path: string, cb: Cb): void;
  rename(src: string, dest: string, cb: Cb): void;
  /** symlink(2): `target` is the link text, `path` the link to create. */
  symlink(target: string, path: string, cb: Cb): void;
  readlink(path: string, cb: ValueCb<string>): void;
  chmod(path: string, mode: number, cb: Cb): void;
  chown(path: string, uid: number, gid: number, cb: Cb): void;
  utimens(path: string, atime: number, mtime: number, cb: Cb): void;
  statfs(path: string, cb: ValueCb<FuseStatfs>): void;
}

export interface FuseOptions {
  force?: boolean;
  mkdir?: boolean;
  allowOther?: boolean;
  defaultPermissions?: boolean;
  fsname?: string;
  subtype?: string;
  /** Per-request timeout in fuse-native; false = none (this module bounds its own waits). */
  timeout?: false | number;
  debug?: boolean;
}

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

export interface FuseClass {
  new (mnt: string, ops: Partial<FuseOps>, opts?: FuseOptions): FuseInstance;
  unmount(mnt: string, cb: (err: Error | null) => void): void;
}

let cached: FuseClass | Error | undefined;

/** fuse-native, loaded lazily: a missing package or libfuse is an Error the caller can report. */
export function loadFuse(): FuseClass {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)('fuse-native') as FuseClass;
    } catch (e) {
      cached = new Error(`fuse-native cannot load: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (cached instanceof Error) throw cached;
  return cached;
}
