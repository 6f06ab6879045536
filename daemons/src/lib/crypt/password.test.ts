import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { MalformedHashError } from './errors.js';
import { loadLibxcrypt } from './libxcrypt.js';
import { sha512crypt } from './sha-crypt.js';
import { calibrateSha512Rounds, hashPassword, verifyPassword } from './password.js';
import { closeCryptPool } from './worker-pool.js';

afterAll(() => closeCryptPool());

const run = (cmd: string, args: string[], input: string) =>
  execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
const mkpasswd = (method: string, pw: string) => run('mkpasswd', ['-m', method, '-s'], pw);
const PW = 'Tr0ub4dor&3 ünïcödé';
const pw = () => Buffer.from(PW);

describe('verifyPassword', () => {
  test.each([
    ['-id', '$argon2id$'],
    ['-i', '$argon2i$'],
    ['-d', '$argon2d$'],
  ])('argon2 CLI %s hashes', async (flag, prefix) => {
    const hash = run('argon2', ['saltsalt', flag, '-t', '2', '-m', '12', '-p', '1', '-e'], PW);
    expect(hash.startsWith(prefix)).toBe(true);
    expect(await verifyPassword(pw(), hash)).toBe(true);
    expect(await verifyPassword(Buffer.from(PW + '!'), hash)).toBe(false);
  });

  test.each([
    ['yescrypt', '$y$'],
    ['gost-yescrypt', '$gy$'],
    ['scrypt', '$7$'],
    ['sha-512', '$6$'],
    ['sha-256', '$5$'],
  ])('mkpasswd -m %s hashes (libcrypt must load: no skipping)', async (method, prefix) => {
    const hash = mkpasswd(method, PW);
    expect(hash.startsWith(prefix)).toBe(true);
    expect(await verifyPassword(pw(), hash)).toBe(true);
    expect(await verifyPassword(Buffer.from('tr0ub4dor&3 ünïcödé'), hash)).toBe(false);
    expect(await verifyPassword(Buffer.alloc(0), hash)).toBe(false);
  });

  test('does not modify the caller buffer', async () => {
    const buf = pw();
    await verifyPassword(buf, mkpasswd('sha-512', PW));
    await verifyPassword(buf, mkpasswd('yescrypt', PW));
    await verifyPassword(buf, run('argon2', ['saltsalt', '-id', '-t', '1', '-m', '10', '-e'], PW));
    expect(buf.toString()).toBe(PW);
  });

  test('passwords crypt(3) cannot represent never match', async () => {
    const hash = mkpasswd('sha-512', 'abc');
    expect(await verifyPassword(Buffer.from('abc\0def'), hash)).toBe(false);
    // libxcrypt refuses passphrases >= 512 bytes; we do the same (bounds the work per attempt).
    const long = Buffer.alloc(600, 0x61);
    expect(await verifyPassword(long, sha512crypt(long, '$6$abcdefgh'))).toBe(false);
  });

  test.each([
    ['$6$abcdefgh$short', 'sha512crypt'],
    ['$6$abcdefgh', 'sha512crypt'],
    ['$6$rounds=x$abcdefgh$' + 'a'.repeat(86), 'sha512crypt'],
    ['$5$abc$' + '!'.repeat(43), 'sha256crypt'],
    ['$y$!!!$abc$def', 'yescrypt'],
    ['$argon2id$v=19$m=4096,t=2,p=1$!!$!!', 'argon2id'],
  ])('malformed %s → MalformedHashError', async (hash, scheme) => {
    await expect(verifyPassword(pw(), hash)).rejects.toSatisfy((e: unknown) => e instanceof MalformedHashError && e.scheme === scheme);
  });
});

describe('hashPassword', () => {
  test('sha512crypt with rounds=5000 agrees with openssl passwd -6', async () => {
    const hash = await hashPassword(pw(), { scheme: 'sha512crypt', rounds: 5000 });
    const m = /^\$6\$rounds=5000\$([./0-9A-Za-z]{16})\$([./0-9A-Za-z]{86})$/.exec(hash);
    expect(m).not.toBeNull();
    const ossl = run('openssl', ['passwd', '-6', '-salt', m![1]!, '-stdin'], PW);
    expect(ossl).toBe(`$6$${m![1]}$${m![2]}`);
    expect(await verifyPassword(pw(), hash)).toBe(true);
  });

  test('sha512crypt with explicit rounds verifies with libxcrypt; salts are random', async () => {
    const lib = loadLibxcrypt();
    expect(lib).not.toBeNull();
    const a = await hashPassword(pw(), { scheme: 'sha512crypt', rounds: 12345 });
    const b = await hashPassword(pw(), { scheme: 'sha512crypt', rounds: 12345 });
    expect(a).not.toBe(b);
    expect(lib!.crypt(pw(), a)).toBe(a);
    expect(lib!.crypt(pw(), b)).toBe(b);
  });

  test('yescrypt output is accepted by libxcrypt and by verifyPassword', async () => {
    const hash = await hashPassword(pw(), { scheme: 'yescrypt' });
    expect(hash).toMatch(/^\$y\$j9T\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{43}$/);
    expect(loadLibxcrypt()!.crypt(pw(), hash)).toBe(hash);
    expect(await verifyPassword(pw(), hash)).toBe(true);
    expect(await verifyPassword(Buffer.from('nope'), hash)).toBe(false);
  });

  test('default is yescrypt when libxcrypt is present', async () => {
    expect(await hashPassword(pw())).toMatch(/^\$y\$/);
  });

  test('argon2id output verifies, with the requested parameters', async () => {
    const hash = await hashPassword(pw(), { scheme: 'argon2id', memoryKiB: 4096, timeCost: 2, parallelism: 1 });
    // Canonical libargon2 parameter order (the npm module writes m,p,t; we normalise).
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=4096,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword(pw(), hash)).toBe(true);
    expect(await verifyPassword(Buffer.from('nope'), hash)).toBe(false);
  });

  test('rejects passwords crypt(3) cannot carry, and bad rounds', async () => {
    await expect(hashPassword(Buffer.from('a\0b'), { scheme: 'sha512crypt', rounds: 5000 })).rejects.toThrow(RangeError);
    await expect(hashPassword(pw(), { scheme: 'sha512crypt', rounds: 999 })).rejects.toThrow(RangeError);
  });
});

test('calibrateSha512Rounds', async () => {
  const rounds = await calibrateSha512Rounds(60);
  expect(rounds).toBeGreaterThanOrEqual(5000);
  expect(rounds % 1000).toBe(0);
  expect(await calibrateSha512Rounds(0.001)).toBe(5000);
  // The calibrated cost is roughly the target (generous bounds: the machine is shared).
  const hash = await hashPassword(pw(), { scheme: 'sha512crypt', rounds });
  const t0 = performance.now();
  expect(await verifyPassword(pw(), hash)).toBe(true);
  const ms = performance.now() - t0;
  expect(ms).toBeGreaterThan(15);
  expect(ms).toBeLessThan(600);
});
