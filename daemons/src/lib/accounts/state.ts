/**
 * Pure account-state rules (no I/O). The clock is injected as `nowDays`,
 * days since 1970-01-01 UTC, the unit shadow(5) uses.
 *
 * Order of checks (first failing wins) follows shadow-utils' isexpired():
 * locked, no_password, disabled_shell, account_expired,
 * password_change_required, inactive, password_expired.
 */
import { readCached } from './file-cache.js';
import type { PasswdEntry, ShadowEntry } from './formats.js';
import type { LoginDefs } from './login-defs.js';
import { etcPath } from './paths.js';

export type AccountStateReason =
  | 'locked'
  | 'no_password'
  | 'disabled_shell'
  | 'account_expired'
  | 'password_change_required'
  | 'password_expired'
  | 'inactive';

export type AccountState = { ok: true } | { ok: false; reason: AccountStateReason };

/** Shells that always mean "no interactive login", whatever /etc/shells says. */
export const NOLOGIN_SHELLS: readonly string[] = ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false'];

/** An empty shell field means /bin/sh (passwd(5)). */
export function effectiveShell(entry: Pick<PasswdEntry, 'shell'>): string {
  return entry.shell === '' ? '/bin/sh' : entry.shell;
}

/**
 * A shell is disabled when it is a known nologin shell, or, if `/etc/shells`
 * exists (`shells !== null`), when it is not listed there (the same rule
 * chsh/ftpd/pam_shells use). When `/etc/shells` is absent only the nologin
 * list applies.
 */
export function isDisabledShell(shell: string, shells: readonly string[] | null): boolean {
  const s = shell === '' ? '/bin/sh' : shell;
  if (NOLOGIN_SHELLS.includes(s)) return true;
  if (shells !== null && !shells.includes(s)) return true;
  return false;
}

export function parseShells(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** `<root>/etc/shells` as a list, or null when the file does not exist. */
export async function readShells(root: string): Promise<string[] | null> {
  // Re-stated on every call, parsed again only when the file changed (file-cache.ts).
  const shells = await readCached('shells', etcPath(root, 'shells'), (b) => (b === null ? null : parseShells(b.toString('utf8'))));
  return shells === null ? null : [...shells];
}

/** Locked: `!` or `*` prefix (usermod -L, passwd -l, system accounts), including a bare `!`/`*`. */
export function isLockedHash(hash: string): boolean {
  return hash.startsWith('!') || hash.startsWith('*');
}

export function isEmptyHash(hash: string): boolean {
  return hash === '';
}

/** Today in shadow(5) days. */
export function daysSinceEpoch(nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 86_400_000);
}

export interface StateOptions {
  nowDays: number;
  /** Content of /etc/shells, or null when the file does not exist. */
  shells: readonly string[] | null;
}

/**
 * Decide whether `passwd`/`shadow` permit a password login now.
 * Without a shadow entry the passwd password field is the hash; `x` without
 * a shadow entry cannot match any password and counts as locked.
 */
export function accountState(passwd: PasswdEntry, shadow: ShadowEntry | undefined, opts: StateOptions): AccountState {
  const hash = shadow ? shadow.hash : passwd.password;
  if (isLockedHash(hash) || (!shadow && hash === 'x')) return { ok: false, reason: 'locked' };
  if (isEmptyHash(hash)) return { ok: false, reason: 'no_password' };
  if (isDisabledShell(passwd.shell, opts.shells)) return { ok: false, reason: 'disabled_shell' };
  if (!shadow) return { ok: true };
  const now = opts.nowDays;
  if (shadow.expireDate !== null && shadow.expireDate > 0 && now >= shadow.expireDate) {
    return { ok: false, reason: 'account_expired' };
  }
  if (shadow.lastChange === 0) return { ok: false, reason: 'password_change_required' };
  if (shadow.lastChange !== null && shadow.maxDays !== null) {
    const expiresOn = shadow.lastChange + shadow.maxDays;
    if (shadow.inactiveDays !== null && now >= expiresOn + shadow.inactiveDays) return { ok: false, reason: 'inactive' };
    if (now >= expiresOn) return { ok: false, reason: 'password_expired' };
  }
  return { ok: true };
}

/** A "human" account: uid in [UID_MIN, UID_MAX] and a login shell that is not disabled. */
export function isHumanUser(entry: PasswdEntry, defs: Pick<LoginDefs, 'UID_MIN' | 'UID_MAX'>, shells: readonly string[] | null = null): boolean {
  return entry.uid >= defs.UID_MIN && entry.uid <= defs.UID_MAX && !isDisabledShell(entry.shell, shells);
}
