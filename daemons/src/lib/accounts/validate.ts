/** Input validation for values that end up in colon-separated account files. */
import path from 'node:path';
import { AccountError } from './errors.js';

export const USERNAME_MAX = 32;
export const FULL_NAME_MAX = 128;
const USERNAME_RE = /^[a-z_][a-z0-9_-]*[$]?$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/** Portable POSIX-ish user/group name, as useradd's default policy. */
export function isValidUsername(name: string): boolean {
  return name.length >= 1 && name.length <= USERNAME_MAX && USERNAME_RE.test(name);
}

export function assertUsername(name: string): void {
  if (!isValidUsername(name)) {
    throw new AccountError('invalid_username', `invalid user name ${JSON.stringify(name)}: must match ${USERNAME_RE.source} and be at most ${USERNAME_MAX} characters`);
  }
}

/** GECOS full name: no `:` `,` `=` (GECOS separators) and no control characters. Empty is allowed. */
export function isValidFullName(name: string): boolean {
  return [...name].length <= FULL_NAME_MAX && !/[:,=]/.test(name) && !CONTROL_RE.test(name) && name.trim() === name;
}

export function assertFullName(name: string): void {
  if (!isValidFullName(name)) {
    throw new AccountError('invalid_full_name', `invalid full name: no ':' ',' '=' or control characters, no surrounding spaces, at most ${FULL_NAME_MAX} characters`);
  }
}

/** A ready crypt(3)-style hash string. Empty is refused (would be a passwordless account). */
export function assertHash(hash: string): void {
  if (hash === '' || /[:\s]/.test(hash) || CONTROL_RE.test(hash)) {
    throw new AccountError('invalid_hash', 'password hash must be non-empty and contain no ":", whitespace or control characters');
  }
}

function assertAbsolutePathField(p: string, code: 'invalid_shell' | 'invalid_home', what: string): void {
  if (!path.posix.isAbsolute(p) || /[:\n]/.test(p) || CONTROL_RE.test(p) || path.posix.normalize(p) !== p || p === '/') {
    throw new AccountError(code, `invalid ${what} ${JSON.stringify(p)}: must be a normalised absolute path without ':' or control characters`);
  }
}

export function assertShell(shell: string): void {
  assertAbsolutePathField(shell, 'invalid_shell', 'shell');
}

export function assertHome(home: string): void {
  assertAbsolutePathField(home, 'invalid_home', 'home directory');
}
