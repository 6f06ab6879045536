import { open, readFile, unlink, mkdir, chmod, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { check } from '@redbear/protocol';
import { fsyncDir, writeFileAtomic } from '../runtime/index.js';
import { PEPPER_LEN } from './crypto.js';

/**
 * keystored's persistent state under state_dir (0700):
 *   pepper              32 random bytes, 0600, created on first start
 *   users/<uid>.json    the user's record (wrapped UMK per protector, checkpoint), 0600
 *   throttle/<uid>.json failure counters, 0600
 * Every write is atomic: tmp file (0600) → fsync → rename → fsync dir.
 */

const Hex = (n: number) => Type.String({ minLength: n, maxLength: n, pattern: '^[0-9a-f]*$' });
const KdfRec = Type.Object(
  {
    alg: Type.Literal('argon2id'),
    salt: Type.String({ minLength: 24, maxLength: 24 }),
    memory_kib: Type.Integer({ minimum: 1 }),
    time_cost: Type.Integer({ minimum: 1 }),
    parallelism: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export const ProtectorRecord = Type.Object(
  {
    kind: Type.Union([Type.Literal('password'), Type.Literal('pin'), Type.Literal('recovery')]),
    id: Hex(32),
    kdf: Type.Union([KdfRec, Type.Null()]),
    nonce: Hex(24),
    wrapped: Hex(96),
    created_ms: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export const UserRecord = Type.Object(
  {
    v: Type.Literal(1),
    uid: Type.Integer({ minimum: 0 }),
    username: Type.String({ maxLength: 64 }),
    store_id: Hex(32),
    created_ms: Type.Integer({ minimum: 0 }),
    sign_public_key: Type.String({ minLength: 44, maxLength: 44 }),
    protectors: Type.Array(ProtectorRecord, { maxItems: 8 }),
    checkpoint: Type.Union([Type.Object({ epoch: Type.Integer({ minimum: 1 }), index_hash: Hex(64) }, { additionalProperties: false }), Type.Null()]),
  },
  { additionalProperties: false },
);
export const ThrottleRecord = Type.Object(
  {
    v: Type.Literal(1),
    failures: Type.Integer({ minimum: 0 }),
    last_failure_ms: Type.Integer({ minimum: 0 }),
    pin_failures: Type.Integer({ minimum: 0 }),
    pin_disabled: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type ProtectorRecord = Static<typeof ProtectorRecord>;
export type UserRecord = Static<typeof UserRecord>;
export type ThrottleRecord = Static<typeof ThrottleRecord>;

export class CorruptRecordError extends Error {
  constructor(file: string, why: string) {
    super(`${file}: ${why}`);
    this.name = 'CorruptRecordError';
  }
}

/** The atomic replace every state file uses (temp, fsync, rename, fsync dir). */
export const atomicWriteFile = (file: string, data: Buffer | string): Promise<void> => writeFileAtomic(file, data, { mode: 0o600 });

/** Parents as usual (0755), the directory itself 0700. */
async function ensureDir(dir: string): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  await mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await chmod(dir, 0o700);
}

export class StateStore {
  readonly usersDir: string;
  readonly throttleDir: string;
  readonly pepperFile: string;

  constructor(readonly dir: string) {
    this.usersDir = path.join(dir, 'users');
    this.throttleDir = path.join(dir, 'throttle');
    this.pepperFile = path.join(dir, 'pepper');
  }

  async init(): Promise<void> {
    await ensureDir(this.dir);
    await ensureDir(this.usersDir);
    await ensureDir(this.throttleDir);
  }

  /** The device pepper: created once (O_EXCL), then only read. */
  async pepper(): Promise<Buffer> {
    try {
      const fh = await open(this.pepperFile, 'wx', 0o600);
      const p = randomBytes(PEPPER_LEN);
      try {
        await fh.writeFile(p);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncDir(this.dir);
      return p;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = await stat(this.pepperFile);
    if ((st.mode & 0o077) !== 0) await chmod(this.pepperFile, 0o600);
    const p = await readFile(this.pepperFile);
    if (p.length !== PEPPER_LEN) {
      p.fill(0);
      throw new CorruptRecordError(this.pepperFile, `pepper must be ${PEPPER_LEN} bytes`);
    }
    return p;
  }

  userFile(uid: number): string {
    return path.join(this.usersDir, `${uid}.json`);
  }

  throttleFile(uid: number): string {
    return path.join(this.throttleDir, `${uid}.json`);
  }

  private async readJson(file: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CorruptRecordError(file, 'not JSON');
    }
  }

  async readUser(uid: number): Promise<UserRecord | null> {
    const file = this.userFile(uid);
    const v = await this.readJson(file);
    if (v === undefined) return null;
    const err = check(UserRecord, v);
    if (err) throw new CorruptRecordError(file, err.message);
    const rec = v as UserRecord;
    if (rec.uid !== uid) throw new CorruptRecordError(file, 'uid does not match the file name');
    return rec;
  }

  async writeUser(rec: UserRecord): Promise<void> {
    await atomicWriteFile(this.userFile(rec.uid), JSON.stringify(rec, null, 1) + '\n');
  }

  /** Crypto-shred: overwrite the record with random bytes, fsync, unlink, fsync the dir (best effort on CoW/SSD). */
  async destroyUser(uid: number): Promise<boolean> {
    const file = this.userFile(uid);
    let existed = false;
    try {
      const fh = await open(file, 'r+');
      try {
        const { size } = await fh.stat();
        await fh.write(randomBytes(Math.max(size, 1)), 0, Math.max(size, 1), 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await unlink(file);
      existed = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await unlink(this.throttleFile(uid)).catch(() => undefined);
    await fsyncDir(this.usersDir);
    return existed;
  }

  async readThrottle(uid: number): Promise<ThrottleRecord> {
    const file = this.throttleFile(uid);
    const v = await this.readJson(file).catch(() => 'corrupt');
    if (v === undefined) return { v: 1, failures: 0, last_failure_ms: 0, pin_failures: 0, pin_disabled: false };
    if (v === 'corrupt' || check(ThrottleRecord, v)) {
      // A damaged throttle file must not reset the counters to zero: treat it as maximal.
      return { v: 1, failures: 1_000, last_failure_ms: Date.now(), pin_failures: 1_000, pin_disabled: true };
    }
    return v as ThrottleRecord;
  }

  async writeThrottle(uid: number, t: ThrottleRecord): Promise<void> {
    await atomicWriteFile(this.throttleFile(uid), JSON.stringify(t) + '\n');
  }
}
