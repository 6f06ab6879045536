import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MalformedHashError } from './errors.js';
import { loadLibxcrypt } from './libxcrypt.js';
import { parseShaCryptSetting, sha256crypt, sha512crypt } from './sha-crypt.js';

const b = (s: string) => Buffer.from(s, 'utf8');
const LONG = 'a very much longer text to encrypt.  This one even stretches over morethan one line.';

// Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors (setting, key, expected).
const SHA512_VECTORS: Array<[string, string, string]> = [
  ['$6$saltstring', 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=5000$toolongsaltstring', 'This is just a test', '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0'],
  ['$6$rounds=1400$anotherlongsaltstring', LONG, '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1'],
  ['$6$rounds=77777$short', 'we have a short salt string but not a short password', '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
  ['$6$rounds=123456$asaltof16chars..', 'a short string', '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed', '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
];
const SHA256_VECTORS: Array<[string, string, string]> = [
  ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['$5$rounds=10000$saltstringsaltstring', 'Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['$5$rounds=5000$toolongsaltstring', 'This is just a test', '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5'],
  ['$5$rounds=1400$anotherlongsaltstring', LONG, '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1'],
  ['$5$rounds=77777$short', 'we have a short salt string but not a short password', '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/'],
  ['$5$rounds=123456$asaltof16chars..', 'a short string', '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD'],
  ['$5$rounds=10$roundstoolow', 'the minimum number is still observed', '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC'],
];

function mkpasswd(method: string, password: string, args: string[]): string {
  return execFileSync('mkpasswd', ['-m', method, ...args, '-s'], { input: password, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

describe('Drepper test vectors', () => {
  test.each(SHA512_VECTORS)('sha512crypt %s', (setting, key, expected) => {
    expect(sha512crypt(b(key), setting)).toBe(expected);
  });
  test.each(SHA256_VECTORS)('sha256crypt %s', (setting, key, expected) => {
    expect(sha256crypt(b(key), setting)).toBe(expected);
  });
});

describe('hashes made by mkpasswd (libxcrypt)', () => {
  const cases: Array<[string, number | null, string]> = [
    ['sha-512', null, 'abcdefgh'],
    ['sha-512', 1000, 'abcdefghij12'],
    ['sha-512', 5000, 'abcdefghijklmnop'],
    ['sha-512', 12345, 'Zz./09aZ'],
    ['sha-256', null, 'saltsalt'],
    ['sha-256', 1000, 'saltsaltsalt'],
    ['sha-256', 12345, 'saltsaltsaltsalt'],
  ];
  test.each(cases)('%s rounds=%s salt=%s', (method, rounds, salt) => {
    const pw = 'correct horse battery staple ✓';
    const hash = mkpasswd(method, pw, [...(rounds === null ? [] : ['-R', String(rounds)]), '-S', salt]);
    expect(hash).toContain(salt);
    expect(hash.includes('rounds=')).toBe(rounds !== null);
    const fn = method === 'sha-512' ? sha512crypt : sha256crypt;
    expect(fn(b(pw), hash)).toBe(hash);
    expect(fn(b(pw + ' '), hash)).not.toBe(hash);
    expect(fn(b('Correct horse battery staple ✓'), hash)).not.toBe(hash);
  });

  test('mkpasswd refuses rounds below 1000; the spec clamps (see the roundstoolow vectors)', () => {
    expect(() => mkpasswd('sha-512', 'pw', ['-R', '500', '-S', 'abcdefgh'])).toThrow();
    expect(sha512crypt(b('pw'), '$6$rounds=999$abcdefgh').startsWith('$6$rounds=1000$abcdefgh$')).toBe(true);
    expect(sha512crypt(b('pw'), '$6$rounds=1$abcdefgh')).toBe(sha512crypt(b('pw'), '$6$rounds=1000$abcdefgh'));
    // Clamping at the top is checked at parse level (999999999 real rounds would take ~15 minutes).
    expect(parseShaCryptSetting('$6$rounds=1999999999999$ab', 'sha512crypt').rounds).toBe(999_999_999);
    expect(parseShaCryptSetting('$6$rounds=999999999$ab', 'sha512crypt').rounds).toBe(999_999_999);
  });

  test('short salts (below mkpasswd minimum) and empty ones, against libxcrypt', () => {
    const lib = loadLibxcrypt();
    expect(lib, 'libcrypt.so.1 must load (CI has libxcrypt)').not.toBeNull();
    for (const setting of ['$6$a', '$6$ab$', '$6$abcd', '$6$', '$6$rounds=1000$x', '$5$a', '$5$', '$5$rounds=2000$abc$whatever']) {
      expect(sha512or256(setting)(b('pw'), setting)).toBe(lib!.crypt(b('pw'), setting));
    }
  });
});

function sha512or256(setting: string) {
  return setting.startsWith('$6$') ? sha512crypt : sha256crypt;
}

describe('settings', () => {
  test('parse', () => {
    expect(parseShaCryptSetting('$6$rounds=012345$saltsaltsaltsaltEXTRA$hash', 'sha512crypt')).toEqual({
      scheme: 'sha512crypt', rounds: 12345, roundsCustom: true, salt: 'saltsaltsaltsalt',
    });
    expect(parseShaCryptSetting('$5$abc', 'sha256crypt')).toEqual({ scheme: 'sha256crypt', rounds: 5000, roundsCustom: false, salt: 'abc' });
  });
  test.each(['$6$rounds=$abc', '$6$rounds=abc$x', '$6$rounds=-5$x', '$6$sa lt', '$6$s\u00e9l', '$5$x', 'x'])('malformed %s', (s) => {
    expect(() => sha512crypt(b('pw'), s)).toThrow(MalformedHashError);
  });
  test('caller buffer untouched', () => {
    const pw = b('secret');
    sha512crypt(pw, '$6$abc');
    expect(pw.toString()).toBe('secret');
  });
});

describe('property: equals libxcrypt crypt_rn', () => {
  const lib = loadLibxcrypt();
  const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const salt = fc.array(fc.constantFrom(...B64), { minLength: 0, maxLength: 20 }).map((a) => a.join(''));
  const password = fc.uint8Array({ minLength: 0, maxLength: 140 }).map((u) => u.map((x) => x || 1));
  const rounds = fc.option(fc.integer({ min: 1000, max: 2500 }), { nil: undefined });

  test.each(['$6$', '$5$'])('%s', (prefix) => {
    expect(lib, 'libcrypt.so.1 must load').not.toBeNull();
    fc.assert(
      fc.property(password, salt, rounds, (pw, s, r) => {
        const setting = `${prefix}${r === undefined ? '' : `rounds=${r}$`}${s}`;
        expect(sha512or256(setting)(pw, setting)).toBe(lib!.crypt(pw, setting));
      }),
      { numRuns: 50 },
    );
  });
});
