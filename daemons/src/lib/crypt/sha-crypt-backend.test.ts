/**
 * The two SHA-crypt backends of the worker pool — libxcrypt's crypt_rn (default when it loads) and
 * the built-in TypeScript implementation — against real hashes from mkpasswd (libxcrypt), with
 * libxcrypt really unavailable for the fallback (the workers are given no library to load).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { MalformedHashError, UnsupportedHashError } from './errors.js';
import { calibrateSha512Rounds, hashPassword, verifyPassword } from './password.js';
import { sha256crypt, sha512crypt } from './sha-crypt.js';
import { CryptWorkerPool } from './worker-pool.js';

const libPool = new CryptWorkerPool({ size: 1, shaCryptBackend: 'libxcrypt' });
const builtinPool = new CryptWorkerPool({ size: 1, shaCryptBackend: 'builtin' });
/** `auto` with no library to load: what a machine without libcrypt.so.1 gets. */
const noLibPool = new CryptWorkerPool({ size: 1, shaCryptBackend: 'auto', libxcryptCandidates: [] });
const pools = { libxcrypt: libPool, builtin: builtinPool, 'auto without libxcrypt': noLibPool };
afterAll(() => Promise.all(Object.values(pools).map((p) => p.close())));

const PW = 'correct horse battery staple ✓';
const b = (s: string) => Buffer.from(s, 'utf8');
const copy = (s: string) => new Uint8Array(b(s));

function mkpasswd(method: string, password: string, args: string[]): string {
  return execFileSync('mkpasswd', ['-m', method, ...args, '-s'], { input: password, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** Compute `setting` for `password` through `pool` and return the string and the implementation that computed it. */
async function compute(pool: CryptWorkerPool, password: string, setting: string) {
  const op = setting.startsWith('$6$') ? 'sha512crypt' : 'sha256crypt';
  return pool.run({ op, password: copy(password), setting });
}

describe('which implementation runs', () => {
  test('auto resolves to libxcrypt when it loads, to builtin when it does not', async () => {
    const auto = new CryptWorkerPool({ size: 1 });
    try {
      expect(auto.shaCryptBackend).toBe('auto');
      expect(await auto.shaCryptImplementation()).toBe('libxcrypt');
      expect((await compute(auto, PW, '$6$abcdefgh')).backend).toBe('libxcrypt');
    } finally {
      await auto.close();
    }
    expect(await libPool.shaCryptImplementation()).toBe('libxcrypt');
    expect(await builtinPool.shaCryptImplementation()).toBe('builtin');
    expect(await noLibPool.shaCryptImplementation()).toBe('builtin');
    const info = await noLibPool.probe();
    expect(info.libxcrypt).toBeNull();
    expect(info.libxcryptError).toMatch(/could not be loaded/);
    expect((await libPool.probe()).libxcrypt).toMatch(/libcrypt\.so\.1/);
  });

  test('the libxcrypt backend, required but unavailable: UnsupportedHashError, never a silent fallback', async () => {
    const missing = new CryptWorkerPool({ size: 1, shaCryptBackend: 'libxcrypt', libxcryptCandidates: ['/nonexistent/libcrypt.so.1'] });
    try {
      expect((await missing.probe()).libxcryptError).toContain('/nonexistent/libcrypt.so.1');
      await expect(missing.shaCryptImplementation()).rejects.toBeInstanceOf(UnsupportedHashError);
      const hash = mkpasswd('sha-512', PW, ['-S', 'abcdefgh']);
      await expect(verifyPassword(b(PW), hash, { pool: missing })).rejects.toBeInstanceOf(UnsupportedHashError);
      // …while a request may still ask for the built-in implementation explicitly.
      expect((await missing.run({ op: 'sha512crypt', password: copy(PW), setting: hash, backend: 'builtin' })).value).toBe(hash);
    } finally {
      await missing.close();
    }
  });

  test('without libxcrypt, yescrypt is unsupported but $6$/$5$ verify with the built-in implementation', async () => {
    await expect(verifyPassword(b(PW), mkpasswd('yescrypt', PW, []), { pool: noLibPool })).rejects.toBeInstanceOf(UnsupportedHashError);
    const h6 = mkpasswd('sha-512', PW, ['-R', '5000', '-S', 'abcdefghij']);
    const h5 = mkpasswd('sha-256', PW, ['-S', 'abcdefghij']);
    for (const h of [h6, h5]) {
      expect((await compute(noLibPool, PW, h)).backend).toBe('builtin');
      expect(await verifyPassword(b(PW), h, { pool: noLibPool })).toBe(true);
      expect(await verifyPassword(b(PW + '!'), h, { pool: noLibPool })).toBe(false);
    }
  });
});

describe('both backends give identical results', () => {
  // [method, -R rounds or null for the default, -S salt (mkpasswd accepts 8–16 characters)]
  const mk: Array<[string, number | null, string]> = [
    ['sha-512', null, 'abcdefgh'],
    ['sha-512', 1000, 'abcdefghij12'],
    ['sha-512', 5000, 'abcdefghijklmnop'],
    ['sha-512', 12345, 'Zz./09aZ'],
    ['sha-512', 77777, 'Rb7.Salt/Salt.16'],
    ['sha-256', null, 'saltsalt'],
    ['sha-256', 1000, 'saltsaltsalt'],
    ['sha-256', 5000, 'saltsaltsaltsalt'],
    ['sha-256', 12345, './0123456789'],
  ];
  test.each(mk)('mkpasswd -m %s -R %s -S %s', async (method, rounds, salt) => {
    const hash = mkpasswd(method, PW, [...(rounds === null ? [] : ['-R', String(rounds)]), '-S', salt]);
    expect(hash).toContain(`$${salt}$`);
    for (const [name, pool] of Object.entries(pools)) {
      const r = await compute(pool, PW, hash);
      expect(r.value, name).toBe(hash);
      expect(r.backend, name).toBe(name === 'libxcrypt' ? 'libxcrypt' : 'builtin');
      expect(await verifyPassword(b(PW), hash, { pool }), name).toBe(true);
      expect(await verifyPassword(b('Correct horse battery staple ✓'), hash, { pool }), name).toBe(false);
      expect(await verifyPassword(b(PW + ' '), hash, { pool }), name).toBe(false);
      expect(await verifyPassword(Buffer.alloc(0), hash, { pool }), name).toBe(false);
    }
  });

  test('random passwords of every length class against mkpasswd', async () => {
    for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 200]) {
      const pw = 'p'.repeat(len);
      for (const method of ['sha-512', 'sha-256']) {
        const hash = mkpasswd(method, pw, ['-R', '1000', '-S', 'lengthsalt']);
        for (const pool of Object.values(pools)) {
          expect((await compute(pool, pw, hash)).value).toBe(hash);
          expect(await verifyPassword(b(pw), hash, { pool })).toBe(true);
          expect(await verifyPassword(b(pw + 'x'), hash, { pool })).toBe(false);
        }
      }
    }
  });

  test('short, empty and over-long salts (outside what mkpasswd writes)', async () => {
    for (const setting of ['$6$a', '$6$', '$6$ab$', '$6$rounds=1000$x', '$5$a', '$5$', '$6$abcdefghijklmnopqrstuvwxyz', '$5$rounds=2000$abcdefghijklmnopqrs']) {
      const expected = (setting.startsWith('$6$') ? sha512crypt : sha256crypt)(b(PW), setting);
      const results = await Promise.all(Object.values(pools).map((p) => compute(p, PW, setting)));
      expect(results.map((r) => r.value)).toEqual([expected, expected, expected]);
      expect(results[0]!.backend).toBe('libxcrypt');
      for (const pool of Object.values(pools)) {
        expect(await verifyPassword(b(PW), expected, { pool })).toBe(true);
        expect(await verifyPassword(b('nope'), expected, { pool })).toBe(false);
      }
    }
    // Over-long salts are truncated to 16 characters, as by libxcrypt and glibc.
    expect((await compute(libPool, PW, '$6$abcdefghijklmnopqrstuvwxyz')).value).toMatch(/^\$6\$abcdefghijklmnop\$/);
  });

  test('rounds clamping: settings are clamped to [1000, 999999999] by both (libxcrypt itself refuses them)', async () => {
    for (const [setting, clamped] of [
      ['$6$rounds=1$abcdefgh', '$6$rounds=1000$abcdefgh'],
      ['$6$rounds=999$abcdefgh', '$6$rounds=1000$abcdefgh'],
      ['$6$rounds=01000$abcdefgh', '$6$rounds=1000$abcdefgh'],
      ['$5$rounds=10$abcdefgh', '$5$rounds=1000$abcdefgh'],
    ] as const) {
      const expected = mkpasswd(setting.startsWith('$6$') ? 'sha-512' : 'sha-256', PW, ['-R', '1000', '-S', 'abcdefgh']);
      expect(expected.startsWith(clamped + '$')).toBe(true);
      for (const pool of Object.values(pools)) {
        const r = await compute(pool, PW, setting);
        expect(r.value).toBe(expected);
        expect(r.backend).toBe('builtin'); // libxcrypt refused the setting; computed as the spec and glibc do
      }
    }
  });

  test('stored hashes whose rounds= no crypt(3) writes can never match: MalformedHashError from both, without hashing', async () => {
    const digest = mkpasswd('sha-512', PW, ['-R', '1000', '-S', 'abcdefgh']).split('$').pop()!;
    const d256 = mkpasswd('sha-256', PW, ['-R', '1000', '-S', 'abcdefgh']).split('$').pop()!;
    for (const hash of [
      `$6$rounds=1$abcdefgh$${digest}`,
      `$6$rounds=01000$abcdefgh$${digest}`,
      // Clamped to 999999999 rounds (minutes of work): rejected before any worker runs.
      `$6$rounds=1000000000$abcdefgh$${digest}`,
      `$6$rounds=99999999999999999999$abcdefgh$${digest}`,
      `$5$rounds=1$abcdefgh$${d256}`,
    ]) {
      for (const pool of Object.values(pools)) {
        const t0 = performance.now();
        await expect(verifyPassword(b(PW), hash, { pool })).rejects.toBeInstanceOf(MalformedHashError);
        expect(performance.now() - t0).toBeLessThan(1000);
      }
    }
  });

  test('salt characters libxcrypt refuses but glibc accepts: computed by the built-in implementation in every backend', async () => {
    const setting = '$6$rounds=1000$ab!d%&*+';
    const hash = sha512crypt(b(PW), setting);
    for (const pool of Object.values(pools)) {
      const r = await compute(pool, PW, hash);
      expect(r.value).toBe(hash);
      expect(r.backend).toBe('builtin');
      expect(await verifyPassword(b(PW), hash, { pool })).toBe(true);
      expect(await verifyPassword(b('nope'), hash, { pool })).toBe(false);
    }
  });

  test('passphrases libxcrypt refuses (NUL byte, 512 bytes or more) are computed by the built-in implementation', async () => {
    // verifyPassword never hands such passphrases to a worker (they cannot be what crypt(3) saw);
    // direct pool users get the specification's answer whatever the backend.
    for (const phrase of [Buffer.from('a\0b'), Buffer.alloc(600, 0x61), Buffer.from([0, 0, 0])]) {
      const expected = sha512crypt(phrase, '$6$rounds=1000$nulnulnul');
      for (const pool of Object.values(pools)) {
        const r = await pool.run({ op: 'sha512crypt', password: new Uint8Array(phrase), setting: '$6$rounds=1000$nulnulnul' });
        expect(r.value).toBe(expected);
        expect(r.backend).toBe('builtin');
      }
    }
  });

  test('calibration runs with every backend (its probe password is NUL-free)', async () => {
    for (const pool of Object.values(pools)) {
      for (let i = 0; i < 3; i++) expect(await calibrateSha512Rounds(20, { pool })).toBeGreaterThanOrEqual(5000);
    }
  });

  test('new $6$ hashes made by either backend verify with both (and with libxcrypt in this thread)', async () => {
    for (const maker of [libPool, builtinPool, noLibPool]) {
      const hash = await hashPassword(b(PW), { scheme: 'sha512crypt', rounds: 5000 }, { pool: maker });
      expect(hash).toMatch(/^\$6\$rounds=5000\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
      for (const pool of Object.values(pools)) {
        expect(await verifyPassword(b(PW), hash, { pool })).toBe(true);
        expect(await verifyPassword(b('wrong'), hash, { pool })).toBe(false);
      }
      // mkpasswd cannot verify, but libxcrypt through openssl-compatible re-hashing can: same string back.
      expect(mkpasswd('sha-512', PW, ['-R', '5000', '-S', hash.split('$')[3]!])).toBe(hash);
    }
  });
});

describe('worker priority', () => {
  /** Field 19 (nice) of /proc/self/task/<tid>/stat. */
  const niceOf = (tid: number | 'self') => {
    const stat = readFileSync(tid === 'self' ? '/proc/thread-self/stat' : `/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  };

  test('nice applies to the worker threads only', async () => {
    const before = niceOf('self');
    const pool = new CryptWorkerPool({ size: 2, nice: 10 });
    try {
      // Two tasks at once: both workers start.
      const [a, c] = await Promise.all([pool.probe(), pool.probe()]);
      for (const info of [a, c]) {
        expect(info.tid).toBeGreaterThan(0);
        expect(info.nice).toBe(Math.max(10, before));
        expect(niceOf(info.tid!)).toBe(Math.max(10, before));
      }
      expect(niceOf('self')).toBe(before);
      expect(niceOf(process.pid)).toBe(before);
    } finally {
      await pool.close();
    }
    // Default: workers inherit the creating thread's priority.
    const plain = new CryptWorkerPool({ size: 1 });
    try {
      const info = await plain.probe();
      expect(info.nice).toBe(before);
      expect(niceOf(info.tid!)).toBe(before);
    } finally {
      await plain.close();
    }
  });
});
