import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import sodium from 'libsodium-wrappers-sumo';
import { hchacha20 } from './hchacha20.js';
import { xchachaOpen, xchachaSeal } from './xchacha.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s:]/g, ''), 'hex');

beforeAll(async () => {
  await sodium.ready;
});

describe('HChaCha20', () => {
  it('matches draft-irtf-cfrg-xchacha-03 §2.2.1', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const nonce = hex('000000090000004a0000000031415927');
    const out = hchacha20(key, nonce);
    expect(out.toString('hex')).toBe(
      '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
    );
  });

  it('equals libsodium crypto_core_hchacha20 on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (k, n) => {
        const ours = hchacha20(Buffer.from(k), Buffer.from(n));
        const theirs = sodium.crypto_core_hchacha20(n, k, null);
        expect(ours.equals(Buffer.from(theirs))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects wrong sizes', () => {
    expect(() => hchacha20(Buffer.alloc(31), Buffer.alloc(16))).toThrow(RangeError);
    expect(() => hchacha20(Buffer.alloc(32), Buffer.alloc(12))).toThrow(RangeError);
  });
});

describe('XChaCha20-Poly1305', () => {
  // draft-irtf-cfrg-xchacha-03 §A.3.1
  const pt = Buffer.from(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const iv = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
  const ct = hex(`bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
    731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
    2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
    21f9664c97637da9768812f615c68b13b52e`);
  const tag = hex('c0875924c1c7987947deafd8780acf49');

  it('matches draft-irtf-cfrg-xchacha-03 §A.3.1 (seal and open)', () => {
    const sealed = xchachaSeal(key, iv, pt, aad);
    expect(sealed.subarray(0, pt.length).toString('hex')).toBe(ct.toString('hex'));
    expect(sealed.subarray(pt.length).toString('hex')).toBe(tag.toString('hex'));
    expect(xchachaOpen(key, iv, Buffer.concat([ct, tag]), aad)?.equals(pt)).toBe(true);
    // libsodium agrees with the draft as well
    const ls = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, aad, null, iv, key);
    expect(Buffer.from(ls).equals(Buffer.concat([ct, tag]))).toBe(true);
  });

  it('rejects any single-bit change of ciphertext, tag, aad or nonce', () => {
    const sealed = Buffer.concat([ct, tag]);
    for (const pos of [0, 57, ct.length - 1, ct.length, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[pos]! ^= 1;
      expect(xchachaOpen(key, iv, bad, aad)).toBeNull();
    }
    const badAad = Buffer.from(aad);
    badAad[0]! ^= 0x80;
    expect(xchachaOpen(key, iv, sealed, badAad)).toBeNull();
    const badIv = Buffer.from(iv);
    badIv[20]! ^= 1;
    expect(xchachaOpen(key, badIv, sealed, aad)).toBeNull();
    expect(xchachaOpen(key, iv, sealed.subarray(0, 10), aad)).toBeNull();
  });

  it('equals libsodium crypto_aead_xchacha20poly1305_ietf_encrypt/decrypt on random inputs', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.uint8Array({ maxLength: 2000 }),
        fc.uint8Array({ maxLength: 64 }),
        (k, n, m, a) => {
          const K = Buffer.from(k);
          const N = Buffer.from(n);
          const M = Buffer.from(m);
          const A = Buffer.from(a);
          const ours = xchachaSeal(K, N, M, A);
          const theirs = Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(M, A, null, N, K));
          expect(ours.equals(theirs)).toBe(true);
          expect(xchachaOpen(K, N, theirs, A)?.equals(M)).toBe(true);
          expect(Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ours, A, N, K)).equals(M)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
