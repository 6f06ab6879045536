import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import sodium from 'libsodium-wrappers-sumo';
import { chunkAead, loadOpensslAead, nodeAead, selectAead, type ChunkAead } from './aead.js';
import { ChunkCipher } from './content-object.js';
import { CHUNK_LOG2, encodeHeader, FORMAT_VERSION, SUITE_XCHACHA_HKDF_HMAC } from './header.js';
import { MemoryCheckpointHolder, umkKeyProvider } from './key-provider.js';
import { createStore, openStore } from './store.js';
import { verifyStore } from './verify.js';

beforeAll(async () => {
  await sodium.ready;
});
afterEach(() => {
  selectAead('auto');
});

// Debian's libssl3 is a dependency of the openssl CLI that CI installs: the FFI backend must load.
const openssl = loadOpensslAead();
const backends: ChunkAead[] = [nodeAead, ...(openssl ? [openssl] : [])];
const LENGTHS = [0, 1, 15, 16, 17, 63, 64, 65, 4095, 65535, 65536];

describe('chunk AEAD backends', () => {
  it('the libcrypto backend loads here and is what `auto` picks', () => {
    expect(openssl?.name).toBe('openssl');
    expect(selectAead('auto').name).toBe('openssl');
    expect(chunkAead().name).toBe('openssl');
    expect(selectAead('node').name).toBe('node');
  });

  it.each(backends.map((b) => [b.name, b]))('%s: RFC 8439 §2.8.2 seal and open', (_n, a) => {
    const key = Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex');
    const nonce = Buffer.from('070000004041424344454647', 'hex');
    const aad = Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex');
    const pt = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const ct = Buffer.alloc(pt.length);
    const tag = Buffer.alloc(16);
    a.seal(key, nonce, aad, pt, ct, tag);
    expect(ct.toString('hex')).toBe(
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
    );
    expect(tag.toString('hex')).toBe('1ae10b594f09e26a7e902ecbd0600691');
    const back = Buffer.alloc(ct.length);
    expect(a.open(key, nonce, aad, ct, tag, back)).toBe(true);
    expect(back.equals(pt)).toBe(true);
  });

  it('both backends agree byte for byte on random inputs, also in place', () => {
    for (const len of LENGTHS) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = randomBytes(len % 50);
      const pt = randomBytes(len);
      const results = backends.map((a) => {
        const out = Buffer.alloc(len);
        const tag = Buffer.alloc(16);
        a.seal(key, nonce, aad, pt, out, tag);
        const inPlace = Buffer.from(pt);
        const tag2 = Buffer.alloc(16);
        a.seal(key, nonce, aad, inPlace, inPlace, tag2);
        expect(inPlace.equals(out) && tag2.equals(tag)).toBe(true);
        return Buffer.concat([out, tag]).toString('hex');
      });
      expect(new Set(results).size).toBe(1);
      for (const a of backends) {
        const sealed = Buffer.from(results[0]!, 'hex');
        const ct = sealed.subarray(0, len);
        const back = Buffer.from(ct);
        expect(a.open(key, nonce, aad, back, sealed.subarray(len), back)).toBe(true);
        expect(back.equals(pt)).toBe(true);
      }
    }
  });

  it.each(backends.map((b) => [b.name, b]))('%s: a wrong tag, ciphertext, aad or nonce is rejected and the output wiped', (_n, a) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const aad = randomBytes(41);
    const pt = randomBytes(1000);
    const ct = Buffer.alloc(pt.length);
    const tag = Buffer.alloc(16);
    a.seal(key, nonce, aad, pt, ct, tag);
    const flip = (b: Buffer, i: number): Buffer => {
      const c = Buffer.from(b);
      c.writeUInt8(c.readUInt8(i) ^ 0x01, i);
      return c;
    };
    const cases: [Buffer, Buffer, Buffer, Buffer][] = [
      [nonce, aad, ct, flip(tag, 3)],
      [nonce, aad, flip(ct, 999), tag],
      [nonce, flip(aad, 40), ct, tag],
      [flip(nonce, 11), aad, ct, tag],
    ];
    for (const [n, ad, c, t] of cases) {
      const out = Buffer.alloc(c.length, 0xaa);
      expect(a.open(key, n, ad, c, t, out)).toBe(false);
      expect(out.every((b) => b === 0)).toBe(true);
    }
  });

  it('rejects wrong key, nonce, tag and output sizes with a RangeError', () => {
    for (const a of backends) {
      const pt = Buffer.alloc(10);
      expect(() => a.seal(Buffer.alloc(31), Buffer.alloc(12), Buffer.alloc(0), pt, Buffer.alloc(10), Buffer.alloc(16))).toThrow(RangeError);
      expect(() => a.seal(Buffer.alloc(32), Buffer.alloc(24), Buffer.alloc(0), pt, Buffer.alloc(10), Buffer.alloc(16))).toThrow(RangeError);
      expect(() => a.seal(Buffer.alloc(32), Buffer.alloc(12), Buffer.alloc(0), pt, Buffer.alloc(9), Buffer.alloc(16))).toThrow(RangeError);
      expect(() => a.open(Buffer.alloc(32), Buffer.alloc(12), Buffer.alloc(0), pt, Buffer.alloc(8), Buffer.alloc(10))).toThrow(RangeError);
    }
  });
});

describe('chunks sealed by either backend', () => {
  it('are libsodium XChaCha20-Poly1305 with nonce = nonce_prefix ‖ BE64(i | final<<63) and AAD = header_tag ‖ BE64(i) ‖ final', () => {
    const fileKey = randomBytes(32);
    const header = encodeHeader(
      { version: FORMAT_VERSION, suite: SUITE_XCHACHA_HKDF_HMAC, chunkLog2: CHUNK_LOG2, flags: 0, fileId: randomBytes(16), noncePrefix: randomBytes(16), keyGen: 1, reserved: 0 },
      randomBytes(32),
    );
    for (const backend of backends.map((b) => b.name)) {
      selectAead(backend);
      const cc = new ChunkCipher(fileKey, header);
      for (const [i, final] of [[0, false], [1, true], [0x1_0000_0001, false], [7, true]] as [number, boolean][]) {
        const pt = randomBytes(i % 3 === 0 ? 65536 : 100);
        const [ct, tag] = cc.seal(i, final, pt);
        const n24 = Buffer.alloc(24);
        header.noncePrefix.copy(n24, 0);
        ChunkCipher.nonce(i, final).copy(n24, 16, 4);
        const aad = Buffer.alloc(41);
        header.tag.copy(aad, 0);
        aad.writeUInt32BE(Math.floor(i / 0x1_0000_0000), 32);
        aad.writeUInt32BE(i >>> 0, 36);
        aad[40] = final ? 1 : 0;
        const theirs = Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, aad, null, n24, fileKey));
        expect(Buffer.concat([ct, tag]).equals(theirs)).toBe(true);
        expect(cc.open(i, final, theirs)?.equals(pt)).toBe(true);
        expect(cc.open(i, !final, theirs)).toBeNull();
      }
      cc.destroy();
    }
  });

  it('a store written with one backend reads and verifies with the other', async () => {
    if (!openssl) throw new Error('libcrypto backend unavailable');
    const dir = await mkdtemp(join(tmpdir(), 'sfs-aead-'));
    try {
      const files = new Map<string, Buffer>([
        ['/empty', Buffer.alloc(0)],
        ['/one-chunk', randomBytes(65536)],
        ['/odd', randomBytes(3 * 65536 + 17)],
        ['/big', randomBytes(70 * 65536 + 5)], // more than one I/O batch
      ]);
      for (const [writer, reader] of [['node', 'openssl'], ['openssl', 'node']] as const) {
        const keys = umkKeyProvider(randomBytes(32), randomBytes(16), { checkpoints: new MemoryCheckpointHolder() });
        selectAead(writer);
        const s = await createStore(join(dir, writer), keys);
        for (const [p, d] of files) await s.writeFile(p, d);
        await s.close();
        selectAead(reader);
        const r = await openStore(join(dir, writer), keys);
        for (const [p, d] of files) {
          expect((await r.readFile(p)).equals(d)).toBe(true);
          expect((await r.read(p, 65530, 20)).equals(d.subarray(65530, 65550))).toBe(true);
        }
        await r.close();
        const report = await verifyStore(join(dir, writer), keys);
        expect(report.problems).toEqual([]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
