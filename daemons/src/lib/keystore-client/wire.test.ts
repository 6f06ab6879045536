import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSealedPlain, encodeSealedPlain, formatRecoveryKey, parseRecoveryKey, ROLE } from './wire.js';

describe('recovery key format', () => {
  it('round-trips any key, in any case and grouping', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (k) => {
        const key = Buffer.from(k);
        const s = formatRecoveryKey(key);
        expect(s).toMatch(/^([A-Z2-7]{4}-){13}[A-Z2-7]{4}$/);
        expect(parseRecoveryKey(s)!.equals(key)).toBe(true);
        expect(parseRecoveryKey(s.toLowerCase().replace(/-/g, ' '))!.equals(key)).toBe(true);
      }),
    );
  });
  it('detects a single mistyped character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(55), fc.integer({ min: 1, max: 31 }), (k, pos, delta) => {
        const s = formatRecoveryKey(Buffer.from(k)).replace(/-/g, '');
        const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
        const typo = s.slice(0, pos) + A[(A.indexOf(s[pos]!) + delta) % 32] + s.slice(pos + 1);
        // 56 characters carry exactly 35 bytes (no padding bits): every typo changes the key or the checksum.
        expect(parseRecoveryKey(typo)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
  it('rejects junk', () => {
    expect(parseRecoveryKey('')).toBeNull();
    expect(parseRecoveryKey('A'.repeat(56))).toBeNull();
    expect(parseRecoveryKey('!'.repeat(56))).toBeNull();
  });
});

describe('sealed payload', () => {
  it('round-trips and refuses other sizes or magic', () => {
    const ch = Buffer.alloc(32, 1);
    const sec = Buffer.alloc(32, 2);
    const p = encodeSealedPlain(ROLE.newPin, ch, sec);
    const d = decodeSealedPlain(p)!;
    expect(d.role).toBe(ROLE.newPin);
    expect(d.challenge.equals(ch) && d.secret.equals(sec)).toBe(true);
    expect(decodeSealedPlain(p.subarray(1))).toBeNull();
    const bad = Buffer.from(p);
    bad[0] = 0;
    expect(decodeSealedPlain(bad)).toBeNull();
  });
});
