import type net from 'node:net';
import { createRequire } from 'node:module';

/** Credentials of the process at the other end of a Unix socket (SO_PEERCRED). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

type GetSockOpt = (fd: number, level: number, name: number, val: Buffer, len: Buffer) => number;
let getsockopt: GetSockOpt | null | undefined;

function load(): GetSockOpt | null {
  if (getsockopt !== undefined) return getsockopt;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(name: string): { func(sig: string): GetSockOpt };
    };
    getsockopt = koffi.load('libc.so.6').func('int getsockopt(int, int, int, _Inout_ uint8_t *, _Inout_ uint8_t *)');
  } catch {
    getsockopt = null;
  }
  return getsockopt;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** Read SO_PEERCRED; null when unavailable (no koffi, not a Unix socket, not Linux). */
export function peerCred(socket: net.Socket): PeerCred | null {
  const fn = load();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!fn || typeof fd !== 'number' || fd < 0) return null;
  const val = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12, 0);
  if (fn(fd, SOL_SOCKET, SO_PEERCRED, val, len) !== 0) return null;
  return { pid: val.readInt32LE(0), uid: val.readUInt32LE(4), gid: val.readUInt32LE(8) };
}
