import path from 'node:path';
import { ProtocolError } from '@redbear/protocol';
import { hashPassword, verifyPassword, type CryptWorkerPool } from '../lib/crypt/index.js';
import { JsonStateFile } from './state-file.js';

export const PIN_RE = /^[0-9]{4,12}$/;

interface PinRecord {
  uid: number;
  hash: string;
  failures: number;
}

export interface PinPolicy {
  max_failures: number;
  memory_kib: number;
  time_cost: number;
}

/**
 * PINs: argon2id hashes in `<state_dir>/pins.json` (0600, atomic). A PIN is bound to the uid it
 * was set for (a reused username with another uid has no PIN). After `max_failures` wrong PINs
 * the PIN is refused until the next successful password login (`resetFailures`).
 */
export class PinStore {
  private readonly pins = new Map<string, PinRecord>();
  private readonly file: JsonStateFile<unknown>;

  private constructor(
    stateDir: string,
    private readonly policy: PinPolicy,
    private readonly pool: CryptWorkerPool,
    onError: (e: unknown) => void,
  ) {
    this.file = new JsonStateFile(path.join(stateDir, 'pins.json'), () => ({ version: 1, pins: Object.fromEntries(this.pins) }), onError);
  }

  static async open(stateDir: string, policy: PinPolicy, pool: CryptWorkerPool, onError: (e: unknown) => void): Promise<PinStore> {
    const s = new PinStore(stateDir, policy, pool, onError);
    const data = (await JsonStateFile.read(s.file.file)) as { version?: unknown; pins?: Record<string, unknown> } | null;
    if (data?.version === 1 && data.pins && typeof data.pins === 'object') {
      for (const [name, v] of Object.entries(data.pins)) {
        const r = v as Partial<PinRecord> | null;
        if (r && Number.isInteger(r.uid) && typeof r.hash === 'string' && r.hash.startsWith('$argon2id$')) {
          s.pins.set(name, { uid: r.uid!, hash: r.hash, failures: Number.isInteger(r.failures) ? r.failures! : 0 });
        }
      }
    }
    return s;
  }

  has(username: string, uid: number): boolean {
    return this.pins.get(username)?.uid === uid;
  }

  /** The PIN may be tried (exists for this uid and has not used up its failures). */
  usable(username: string, uid: number): boolean {
    const r = this.pins.get(username);
    return r !== undefined && r.uid === uid && r.failures < this.policy.max_failures;
  }

  async set(username: string, uid: number, pin: Buffer): Promise<void> {
    if (!PIN_RE.test(pin.toString('latin1'))) throw new ProtocolError('bad_request', 'a PIN is 4 to 12 digits', { field: '/pin' });
    const hash = await hashPassword(pin, { scheme: 'argon2id', memoryKiB: this.policy.memory_kib, timeCost: this.policy.time_cost }, { pool: this.pool });
    this.pins.set(username, { uid, hash, failures: 0 });
    await this.file.save();
  }

  async remove(username: string): Promise<boolean> {
    if (!this.pins.delete(username)) return false;
    await this.file.save();
    return true;
  }

  /**
   * Check a PIN. Returns 'ok', 'wrong', 'none' (no PIN for this uid) or 'exhausted'
   * (too many failures already: password required; nothing was checked).
   * The caller holds the per-user mutex, so failures cannot race past the limit.
   */
  async verify(username: string, uid: number, pin: Buffer): Promise<'ok' | 'wrong' | 'exhausted' | 'none'> {
    const r = this.pins.get(username);
    if (!r || r.uid !== uid) return 'none';
    if (r.failures >= this.policy.max_failures) return 'exhausted';
    const ok = PIN_RE.test(pin.toString('latin1')) && (await verifyPassword(pin, r.hash, { pool: this.pool }));
    if (ok) {
      if (r.failures !== 0) {
        r.failures = 0;
        await this.file.save();
      }
      return 'ok';
    }
    r.failures++;
    await this.file.save();
    return 'wrong';
  }

  /** A successful password login re-enables the PIN. */
  async resetFailures(username: string): Promise<void> {
    const r = this.pins.get(username);
    if (r && r.failures !== 0) {
      r.failures = 0;
      await this.file.save();
    }
  }

  flush(): Promise<void> {
    return this.file.flush();
  }
}
