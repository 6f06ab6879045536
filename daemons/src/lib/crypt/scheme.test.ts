import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { UnsupportedHashError } from './errors.js';
import { verifyPassword } from './password.js';
import { identifyScheme } from './scheme.js';
import { closeCryptPool } from './worker-pool.js';

afterAll(() => closeCryptPool());

function mkpasswd(method: string, password: string): string {
  return execFileSync('mkpasswd', ['-m', method, '-s'], { input: password, encoding: 'utf8' }).trim();
}

describe('identifyScheme', () => {
  test.each([
    ['$6$abc$x', 'sha512crypt'],
    ['$5$rounds=1000$abc$x', 'sha256crypt'],
    ['$y$j9T$abc$x', 'yescrypt'],
    ['$gy$j9T$abc$x', 'gost-yescrypt'],
    ['$7$CU..../....abc$x', 'scrypt'],
    ['$argon2id$v=19$m=4096,t=2,p=1$c2FsdA$x', 'argon2id'],
    ['$argon2i$v=19$m=4096,t=2,p=1$c2FsdA$x', 'argon2i'],
    ['$argon2d$v=19$m=4096,t=2,p=1$c2FsdA$x', 'argon2d'],
  ])('%s → %s', (hash, scheme) => {
    expect(identifyScheme(hash)).toBe(scheme);
  });

  test.each([
    ['$1$abcdefgh$xxxxxxxxxxxxxxxxxxxxxx', 'md5crypt ($1$)'],
    ['$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'bcrypt ($2b$)'],
    ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'bcrypt ($2a$)'],
    ['$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'bcrypt ($2y$)'],
    ['$3$$8846f7eaee8fb117ad06bdd830b7586c', 'NT hash ($3$)'],
    ['$md5,rounds=5000$abc$def', 'SunMD5 ($md5$)'],
    ['_J9..CCCCXBrJUJV154M', 'BSDi extended DES (_)'],
    ['abJnggxhB/yWI', 'descrypt (traditional DES)'],
    ['!$6$abc$x', 'locked account (!)'],
    ['*', 'locked account (*)'],
    ['', 'empty (no password)'],
    ['$argon2x$v=19$x', 'unknown argon2 variant'],
    ['$pbkdf2-sha256$29000$x$y', 'PBKDF2 ($pbkdf2…$)'],
    ['$zz$abc$def', 'unknown ($zz$)'],
    ['plaintext', 'unknown (unrecognised format)'],
  ])('%s is unsupported: %s', (hash, scheme) => {
    const err = (() => {
      try {
        identifyScheme(hash);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(UnsupportedHashError);
    expect((err as UnsupportedHashError).scheme).toBe(scheme);
  });
});

describe('verifyPassword refuses real legacy hashes (never a silent false)', () => {
  test.each([
    ['md5crypt', 'md5crypt ($1$)'],
    ['bcrypt', 'bcrypt ($2b$)'],
    ['bcrypt-a', 'bcrypt ($2a$)'],
    ['descrypt', 'descrypt (traditional DES)'],
    ['bsdicrypt', 'BSDi extended DES (_)'],
    ['sunmd5', 'SunMD5 ($md5$)'],
    ['nt', 'NT hash ($3$)'],
  ])('mkpasswd -m %s', async (method, scheme) => {
    const hash = mkpasswd(method, 'password1');
    await expect(verifyPassword(Buffer.from('password1'), hash)).rejects.toSatisfy(
      (e: unknown) => e instanceof UnsupportedHashError && e.scheme === scheme,
    );
  });
});
