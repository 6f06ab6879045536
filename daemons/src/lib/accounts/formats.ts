/**
 * Field-level codecs for passwd(5), shadow(5), group(5) and gshadow(5).
 * Each `parse*` returns either a typed entry or a reason string; `format*`
 * is the exact inverse for well-formed entries.
 */

export interface PasswdEntry {
  name: string;
  /** Usually `x` (hash in shadow); may be a legacy hash, `*` or empty. */
  password: string;
  uid: number;
  gid: number;
  /** GECOS, first comma-separated sub-field is the full name. */
  gecos: string;
  home: string;
  shell: string;
}

export interface ShadowEntry {
  name: string;
  /** crypt(3) hash, possibly prefixed by `!` (locked), or `*`/`!`/empty. */
  hash: string;
  /** Days since epoch of the last change; 0 = must change; null = aging disabled. */
  lastChange: number | null;
  minDays: number | null;
  maxDays: number | null;
  warnDays: number | null;
  inactiveDays: number | null;
  /** Days since epoch on which the account expires. */
  expireDate: number | null;
  /** Reserved field. */
  flag: number | null;
}

export interface GroupEntry {
  name: string;
  password: string;
  gid: number;
  members: string[];
}

export interface GshadowEntry {
  name: string;
  password: string;
  admins: string[];
  members: string[];
}

export type FieldResult<E> = { ok: true; entry: E } | { ok: false; reason: string };

/** Largest id accepted; (uid_t)-1 is reserved as "no id". */
export const MAX_ID = 4294967294;

function parseId(s: string, what: string): number | string {
  if (!/^[0-9]+$/.test(s)) return `${what} ${JSON.stringify(s)} is not a non-negative decimal number`;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > MAX_ID) return `${what} ${s} is out of range`;
  return n;
}

/** shadow(5) numeric fields: empty = null; glibc also reads `-1` as "unset". */
function parseOptionalNumber(s: string, what: string): number | null | string {
  if (s === '' || s === '-1') return null;
  if (!/^[0-9]+$/.test(s)) return `${what} ${JSON.stringify(s)} is not a number`;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) return `${what} ${s} is out of range`;
  return n;
}

function checkName(name: string): string | null {
  if (name === '') return 'empty name';
  return null;
}

function list(s: string): string[] {
  return s === '' ? [] : s.split(',');
}

export function parsePasswdFields(line: string): FieldResult<PasswdEntry> {
  const f = line.split(':');
  if (f.length !== 7) return { ok: false, reason: `expected 7 fields, found ${f.length}` };
  const [name, password, uidS, gidS, gecos, home, shell] = f as [string, string, string, string, string, string, string];
  const bad = checkName(name);
  if (bad) return { ok: false, reason: bad };
  const uid = parseId(uidS, 'uid');
  if (typeof uid === 'string') return { ok: false, reason: uid };
  const gid = parseId(gidS, 'gid');
  if (typeof gid === 'string') return { ok: false, reason: gid };
  return { ok: true, entry: { name, password, uid, gid, gecos, home, shell } };
}

export function formatPasswd(e: PasswdEntry): string {
  return [e.name, e.password, String(e.uid), String(e.gid), e.gecos, e.home, e.shell].join(':');
}

const SHADOW_NUMERIC = ['lastChange', 'minDays', 'maxDays', 'warnDays', 'inactiveDays', 'expireDate', 'flag'] as const;

export function parseShadowFields(line: string): FieldResult<ShadowEntry> {
  const f = line.split(':');
  if (f.length !== 9) return { ok: false, reason: `expected 9 fields, found ${f.length}` };
  const name = f[0] as string;
  const bad = checkName(name);
  if (bad) return { ok: false, reason: bad };
  const entry: ShadowEntry = {
    name,
    hash: f[1] as string,
    lastChange: null,
    minDays: null,
    maxDays: null,
    warnDays: null,
    inactiveDays: null,
    expireDate: null,
    flag: null,
  };
  for (let i = 0; i < SHADOW_NUMERIC.length; i++) {
    const key = SHADOW_NUMERIC[i] as (typeof SHADOW_NUMERIC)[number];
    const v = parseOptionalNumber(f[i + 2] as string, key);
    if (typeof v === 'string') return { ok: false, reason: v };
    entry[key] = v;
  }
  return { ok: true, entry };
}

const num = (n: number | null): string => (n === null ? '' : String(n));

export function formatShadow(e: ShadowEntry): string {
  return [
    e.name,
    e.hash,
    num(e.lastChange),
    num(e.minDays),
    num(e.maxDays),
    num(e.warnDays),
    num(e.inactiveDays),
    num(e.expireDate),
    num(e.flag),
  ].join(':');
}

export function parseGroupFields(line: string): FieldResult<GroupEntry> {
  const f = line.split(':');
  if (f.length !== 4) return { ok: false, reason: `expected 4 fields, found ${f.length}` };
  const [name, password, gidS, members] = f as [string, string, string, string];
  const bad = checkName(name);
  if (bad) return { ok: false, reason: bad };
  const gid = parseId(gidS, 'gid');
  if (typeof gid === 'string') return { ok: false, reason: gid };
  return { ok: true, entry: { name, password, gid, members: list(members) } };
}

export function formatGroup(e: GroupEntry): string {
  return [e.name, e.password, String(e.gid), e.members.join(',')].join(':');
}

export function parseGshadowFields(line: string): FieldResult<GshadowEntry> {
  const f = line.split(':');
  if (f.length !== 4) return { ok: false, reason: `expected 4 fields, found ${f.length}` };
  const [name, password, admins, members] = f as [string, string, string, string];
  const bad = checkName(name);
  if (bad) return { ok: false, reason: bad };
  return { ok: true, entry: { name, password, admins: list(admins), members: list(members) } };
}

export function formatGshadow(e: GshadowEntry): string {
  return [e.name, e.password, e.admins.join(','), e.members.join(',')].join(':');
}
