import { randomBytes as nodeRandomBytes } from 'node:crypto';

/**
 * The only source of nonces, file ids and keys in production code: the OS CSPRNG.
 * There is deliberately no way to inject another generator into the store.
 */
export function randomBytes(n: number): Buffer {
  return nodeRandomBytes(n);
}
