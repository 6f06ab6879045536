/**
 * Worker-thread entry of the crypt pool: computes sha-crypt and libxcrypt hashes off the event loop.
 * Zeroes the transferred password copy after every request.
 */
import { parentPort } from 'node:worker_threads';
import { MalformedHashError } from './errors.js';
import { libxcryptLoadError, loadLibxcrypt } from './libxcrypt.js';
import { sha256crypt, sha512crypt } from './sha-crypt.js';
import type { CryptRequest, CryptResponse } from './worker-protocol.js';

function schemeOf(req: CryptRequest): string {
  if (req.op === 'sha512crypt' || req.op === 'sha256crypt') return req.op;
  if (req.op === 'xgensalt') return req.prefix;
  if (req.op === 'xcrypt') return /^\$[^$]*\$/.exec(req.setting)?.[0] ?? 'libxcrypt';
  return req.op;
}

function unsupported(req: CryptRequest): CryptResponse {
  return { id: req.id, ok: false, code: 'unsupported', scheme: schemeOf(req), message: libxcryptLoadError() ?? 'libxcrypt unavailable' };
}

function handle(req: CryptRequest): CryptResponse {
  const t0 = process.hrtime.bigint();
  const done = (value: string): CryptResponse => ({
    id: req.id, ok: true, value, elapsedMs: Number(process.hrtime.bigint() - t0) / 1e6,
  });
  try {
    switch (req.op) {
      case 'sha512crypt':
        return done(sha512crypt(req.password, req.setting));
      case 'sha256crypt':
        return done(sha256crypt(req.password, req.setting));
      case 'xcrypt': {
        const lib = loadLibxcrypt();
        return lib ? done(lib.crypt(req.password, req.setting)) : unsupported(req);
      }
      case 'xgensalt': {
        const lib = loadLibxcrypt();
        return lib ? done(lib.gensalt(req.prefix, req.count, req.rbytes)) : unsupported(req);
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
