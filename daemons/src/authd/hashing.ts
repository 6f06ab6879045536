import { randomBytes } from 'node:crypto';
import { calibrateSha512Rounds, hashPassword, verifyPassword, type CryptWorkerPool } from '../lib/crypt/index.js';
import type { AuthdConfig } from './config.js';

/**
 * How authd hashes new passwords, and the dummy hash it verifies for unknown users so that
 * "no such user" costs the same time as "wrong password".
 */
export class Hasher {
  private constructor(
    private readonly cfg: AuthdConfig['hashing'],
    private readonly pool: CryptWorkerPool,
    readonly sha512Rounds: number,
    private readonly dummy: string,
  ) {}

  static async create(cfg: AuthdConfig['hashing'], pool: CryptWorkerPool): Promise<Hasher> {
    let rounds = cfg.sha512_rounds;
    if (rounds === 0) rounds = Math.min(cfg.calibrate_max_rounds, await calibrateSha512Rounds(cfg.calibrate_target_ms, { pool }));
    rounds = Math.max(1000, rounds);
    // NUL-free: crypt(3) schemes refuse passwords containing NUL.
    const seed = Buffer.from(randomBytes(24).toString('base64'));
    // The dummy uses the same scheme and cost as new hashes, which is what most accounts carry.
    const tmp = new Hasher(cfg, pool, rounds, '');
    const dummy = await tmp.hash(seed);
    seed.fill(0);
    return new Hasher(cfg, pool, rounds, dummy);
  }

  hash(password: Buffer): Promise<string> {
    switch (this.cfg.scheme) {
      case 'sha512crypt':
        return hashPassword(password, { scheme: 'sha512crypt', rounds: this.sha512Rounds }, { pool: this.pool });
      case 'yescrypt':
        return hashPassword(password, { scheme: 'yescrypt' }, { pool: this.pool });
      case 'argon2id':
        return hashPassword(password, { scheme: 'argon2id' }, { pool: this.pool });
    }
  }

  verify(password: Buffer, hash: string): Promise<boolean> {
    return verifyPassword(password, hash, { pool: this.pool });
  }

  /** Spend the time a real verification would, then fail. */
  async verifyDummy(password: Buffer): Promise<false> {
    await verifyPassword(password, this.dummy, { pool: this.pool }).catch(() => false);
    return false;
  }
}
