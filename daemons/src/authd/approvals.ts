import { randomBytes, createHash } from 'node:crypto';
import { ProtocolError } from '@redbear/protocol';
import type { Clock } from './clock.js';

export type Purpose = 'login' | 'unlock';

export interface ApprovalGrant {
  uid: number;
  username: string;
  vt: number;
  purpose: Purpose;
  session_id: string | undefined;
  /** keystored's grant for this unlock, or null when the keystore was not unlocked. */
  keystore_grant: string | null;
}

interface Entry extends ApprovalGrant {
  expires: number;
}

/**
 * Single-use approvals: 32 random bytes (base64url), valid for at most `ttl_ms` (≤ 15 s), bound
 * to uid, VT and purpose. Stored by SHA-256 of the token, so a memory dump of the table does not
 * yield redeemable tokens; redeemed or expired entries are deleted. A mismatched VT or purpose
 * burns the approval too (one guess per token).
 */
export class Approvals {
  private readonly byHash = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxOutstanding: number,
    private readonly now: Clock,
  ) {}

  issue(grant: ApprovalGrant): { approval: string; expires_in_ms: number } {
    this.sweep();
    while (this.byHash.size >= this.maxOutstanding) {
      const oldest = this.byHash.keys().next();
      if (oldest.done) break;
      this.byHash.delete(oldest.value);
    }
    const token = randomBytes(32).toString('base64url');
    this.byHash.set(digest(token), { ...grant, expires: this.now() + this.ttlMs });
    return { approval: token, expires_in_ms: this.ttlMs };
  }

  /** Redeem once. Throws approval_invalid for unknown, used, expired, or wrong VT/purpose. */
  consume(token: string, vt: number, purpose: Purpose): ApprovalGrant {
    const key = digest(token);
    const e = this.byHash.get(key);
    if (!e) throw invalid();
    this.byHash.delete(key);
    if (e.expires <= this.now()) throw invalid('expired');
    if (e.vt !== vt || e.purpose !== purpose) throw invalid('not valid for this VT or purpose');
    const { expires: _expires, ...grant } = e;
    return grant;
  }

  /**
   * v1 start_session: redeem the newest unexpired login approval for this username on this VT.
   * Returns null when there is none.
   */
  consumeFor(username: string, vt: number): ApprovalGrant | null {
    this.sweep();
    let found: [string, Entry] | null = null;
    for (const kv of this.byHash) if (kv[1].username === username && kv[1].vt === vt && kv[1].purpose === 'login') found = kv;
    if (!found) return null;
    this.byHash.delete(found[0]);
    const { expires: _expires, ...grant } = found[1];
    return grant;
  }

  get size(): number {
    return this.byHash.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.byHash) if (e.expires <= t) this.byHash.delete(k);
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64');
}

function invalid(why = 'unknown or already used'): ProtocolError {
  return new ProtocolError('approval_invalid', `approval ${why}`);
}
