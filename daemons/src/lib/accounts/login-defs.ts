import type { ShadowEntry } from './formats.js';
/**
 * /etc/login.defs (login.defs(5)): `NAME value` lines, `#` comments.
 * Only the keys this library needs are typed; all raw values are kept.
 * Defaults are shadow-utils' built-in defaults when a key is absent.
 */
import { readCached } from './file-cache.js';
import { etcPath } from './paths.js';

export interface LoginDefs {
  UID_MIN: number;
  UID_MAX: number;
  SYS_UID_MIN: number;
  SYS_UID_MAX: number;
  GID_MIN: number;
  GID_MAX: number;
  SYS_GID_MIN: number;
  SYS_GID_MAX: number;
  /** null = aging disabled (shadow-utils default -1). */
  PASS_MAX_DAYS: number | null;
  PASS_MIN_DAYS: number | null;
  PASS_WARN_AGE: number | null;
  UMASK: number;
  USERGROUPS_ENAB: boolean;
  /** Every key/value as read (last occurrence wins). */
  raw: Record<string, string>;
}

function parseIntLike(v: string | undefined): number | null {
  if (v === undefined) return null;
  // login.defs numbers may be decimal, 0-prefixed octal or 0x hex (strtol base 0).
  const s = v.trim();
  let n: number;
  if (/^-?0[xX][0-9a-fA-F]+$/.test(s)) n = Number.parseInt(s.replace(/0[xX]/, ''), 16) * (s.startsWith('-') ? -1 : 1);
  else if (/^-?0[0-7]+$/.test(s)) n = Number.parseInt(s, 8);
  else if (/^-?[0-9]+$/.test(s)) n = Number.parseInt(s, 10);
  else return null;
  return Number.isSafeInteger(n) ? n : null;
}

export function parseLoginDefs(text: string): LoginDefs {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(t);
    if (!m) continue;
    let value = (m[2] ?? '').trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    raw[m[1] as string] = value;
  }
  const int = (key: string, dflt: number): number => parseIntLike(raw[key]) ?? dflt;
  const days = (key: string): number | null => {
    const n = parseIntLike(raw[key]);
    return n === null || n < 0 ? null : n;
  };
  const UID_MIN = int('UID_MIN', 1000);
  const GID_MIN = int('GID_MIN', 1000);
  return {
    UID_MIN,
    UID_MAX: int('UID_MAX', 60000),
    SYS_UID_MIN: int('SYS_UID_MIN', 101),
    SYS_UID_MAX: int('SYS_UID_MAX', UID_MIN - 1),
    GID_MIN,
    GID_MAX: int('GID_MAX', 60000),
    SYS_GID_MIN: int('SYS_GID_MIN', 101),
    SYS_GID_MAX: int('SYS_GID_MAX', GID_MIN - 1),
    PASS_MAX_DAYS: days('PASS_MAX_DAYS'),
    PASS_MIN_DAYS: days('PASS_MIN_DAYS'),
    PASS_WARN_AGE: days('PASS_WARN_AGE'),
    UMASK: int('UMASK', 0o22),
    USERGROUPS_ENAB: (raw['USERGROUPS_ENAB'] ?? 'yes').toLowerCase() === 'yes',
    raw,
  };
}

/** Read `<root>/etc/login.defs`; a missing file yields all defaults. */
export async function readLoginDefs(root: string): Promise<LoginDefs> {
  // Re-stated on every call, parsed again only when the file changed (file-cache.ts).
  const defs = await readCached('login.defs', etcPath(root, 'login.defs'), (b) => parseLoginDefs(b === null ? '' : b.toString('utf8')));
  return { ...defs, raw: { ...defs.raw } };
}

/** A new shadow line as useradd writes it: changed today, aging from login.defs. */
export function freshShadowEntry(name: string, hash: string, defs: LoginDefs, nowDays: number): ShadowEntry {
  return {
    name,
    hash,
    lastChange: nowDays,
    minDays: defs.PASS_MIN_DAYS,
    maxDays: defs.PASS_MAX_DAYS,
    warnDays: defs.PASS_WARN_AGE,
    inactiveDays: null,
    expireDate: null,
    flag: null,
  };
}
