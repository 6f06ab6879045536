/**
 * Secrets live in Buffers that are zeroed after use. Strings that arrive through JSON
 * cannot be wiped (V8 strings are immutable); convert them at the boundary and drop them.
 */
export function secretFromString(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

export function wipe(...bufs: Array<Buffer | Uint8Array | null | undefined>): void {
  for (const b of bufs) b?.fill(0);
}

/** Run fn with the secret, then zero it, whatever happens. */
export async function withSecret<T>(secret: Buffer, fn: (s: Buffer) => Promise<T> | T): Promise<T> {
  try {
    return await fn(secret);
  } finally {
    secret.fill(0);
  }
}
