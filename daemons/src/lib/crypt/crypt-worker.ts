/**
 * Worker-thread entry of the crypt pool: computes sha-crypt and libxcrypt hashes off the event loop.
 * Zeroes the transferred password copy after every request.
 *
 * SHA-crypt (`$5$`/`$6$`) backends: with `libxcrypt` or `auto` (when libxcrypt loads) the string is
 * computed by libxcrypt's crypt_rn, as pam_unix does. Settings that libxcrypt refuses but the
 * specification (and glibc) accept — salt characters outside `./0-9A-Za-z`, rounds outside
 * [1000, 999999999] or with leading zeros — and passphrases it refuses (a NUL byte, 512 bytes or
 * more) are computed by the built-in implementation, so the result never depends on the backend.
 * `builtin`, or `auto` without libxcrypt: sha-crypt.ts.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { MalformedHashError } from './errors.js';
import { libxcryptLoadError, LibxcryptPassphraseError, LibxcryptRejectedError, loadLibxcrypt, type LibxcryptLoadOptions } from './libxcrypt.js';
import { sha256crypt, sha512crypt } from './sha-crypt.js';
import type { CryptRequest, CryptResponse, CryptWorkerInfo, CryptWorkerOptions, ShaCryptImplementation } from './worker-protocol.js';

const options: CryptWorkerOptions = (workerData as { crypt?: CryptWorkerOptions } | null)?.crypt ?? {};
const libOptions: LibxcryptLoadOptions = options.libxcryptCandidates ? { candidates: options.libxcryptCandidates } : {};

/** This thread's Linux thread id, from /proc/thread-self (null elsewhere). */
function threadId(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** Field 19 (nice) of /proc/thread-self/stat: what the scheduler applies to this thread. */
function threadNice(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    return Number.isInteger(nice) ? nice : null;
  } catch {
    return null;
  }
}

/**
 * setpriority(PRIO_PROCESS, gettid(), nice): on Linux the "process" id of PRIO_PROCESS is a
 * thread id and the nice value is per thread, so this lowers only this worker's priority (never
 * raises it: that would need CAP_SYS_NICE and is not what anyone asked for).
 */
const tid = threadId();
if (options.nice && options.nice > 0 && tid !== null) {
  try {
    if (getPriority(tid) < options.nice) setPriority(tid, options.nice);
  } catch {
    // Not fatal: the worker just runs at the inherited priority (probe reports the actual value).
  }
}

function schemeOf(req: CryptRequest): string {
  if (req.op === 'sha512crypt' || req.op === 'sha256crypt') return req.op;
  if (req.op === 'xgensalt') return req.prefix;
  if (req.op === 'xcrypt') return /^\$[^$]*\$/.exec(req.setting)?.[0] ?? 'libxcrypt';
  return req.op;
}

function unsupported(req: CryptRequest): CryptResponse {
  return { id: req.id, ok: false, code: 'unsupported', scheme: schemeOf(req), message: libxcryptLoadError(libOptions) ?? 'libxcrypt unavailable' };
}

type ShaRequest = Extract<CryptRequest, { op: 'sha512crypt' | 'sha256crypt' }>;

/** A SHA-crypt string and who computed it; null when the `libxcrypt` backend was required but is unavailable. */
function shaCrypt(req: ShaRequest): { value: string; backend: ShaCryptImplementation } | null {
  const backend = req.backend ?? 'auto';
  const builtin = req.op === 'sha512crypt' ? sha512crypt : sha256crypt;
  if (backend !== 'builtin') {
    const lib = loadLibxcrypt(libOptions);
    if (lib) {
      try {
        return { value: lib.crypt(req.password, req.setting), backend: 'libxcrypt' };
      } catch (e) {
        if (!(e instanceof LibxcryptRejectedError) && !(e instanceof LibxcryptPassphraseError)) throw e;
        // A setting libxcrypt is stricter about than the spec, or a passphrase that is no C string
        // (verifyPassword never sends one; direct pool users may): computed below, as the spec says.
      }
    } else if (backend === 'libxcrypt') {
      return null;
    }
  }
  return { value: builtin(req.password, req.setting), backend: 'builtin' };
}

function handle(req: CryptRequest): CryptResponse {
  if ('password' in req && req.password.buffer instanceof SharedArrayBuffer) {
    // Posted ahead (worker-pool.ts): take a private copy and zero the shared memory at once.
    const own = new Uint8Array(req.password);
    req.password.fill(0);
    req = { ...req, password: own };
  }
  const t0 = process.hrtime.bigint();
  const done = (value: string, backend?: ShaCryptImplementation): CryptResponse => ({
    id: req.id, ok: true, value, elapsedMs: Number(process.hrtime.bigint() - t0) / 1e6, ...(backend ? { backend } : {}),
  });
  try {
    switch (req.op) {
      case 'sha512crypt':
      case 'sha256crypt': {
        const r = shaCrypt(req);
        return r ? done(r.value, r.backend) : unsupported(req);
      }
      case 'xcrypt': {
        const lib = loadLibxcrypt(libOptions);
        return lib ? done(lib.crypt(req.password, req.setting)) : unsupported(req);
      }
      case 'xgensalt': {
        const lib = loadLibxcrypt(libOptions);
        return lib ? done(lib.gensalt(req.prefix, req.count, req.rbytes)) : unsupported(req);
      }
      case 'probe': {
        const lib = loadLibxcrypt(libOptions);
        const info: CryptWorkerInfo = { libxcrypt: lib?.path ?? null, libxcryptError: lib ? null : libxcryptLoadError(libOptions), tid, nice: threadNice() };
        return done(JSON.stringify(info));
      }
      case 'exit':
        return process.exit(req.code);
    }
    throw new Error('unknown op');
  } catch (e) {
    const code = e instanceof MalformedHashError ? 'malformed' : 'error';
    return { id: req.id, ok: false, code, scheme: schemeOf(req), message: e instanceof Error ? e.message : String(e) };
  } finally {
    if ('password' in req) req.password.fill(0);
  }
}

if (!parentPort) throw new Error('crypt-worker must run in a worker thread');
const port = parentPort;
port.on('message', (req: CryptRequest) => {
  port.postMessage(handle(req));
});
