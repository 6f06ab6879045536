import { createCipheriv, createHash } from 'node:crypto';

/**
 * INSECURE — deterministic, seeded byte generator for TESTS ONLY (reproducible vectors and
 * fuzzing). Production modules must never import this file; `rng-isolation.test.ts` scans the
 * import graph of every non-test module under daemons/src to prove it.
 */
export class InsecureTestRng {
  private readonly key: Buffer;
  private counter = 0;

  constructor(seed: string | number) {
    this.key = createHash('sha256').update(`insecure-test-rng:${String(seed)}`).digest();
  }

  bytes(n: number): Buffer {
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(0, 0);
    iv.writeUInt32BE(this.counter++, 12);
    const c = createCipheriv('chacha20', this.key, iv);
    return c.update(Buffer.alloc(n));
  }

  /** Uniform-ish integer in [0, max). */
  int(max: number): number {
    return this.bytes(4).readUInt32BE(0) % max;
  }
}
