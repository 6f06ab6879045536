/**
 * Read-only lookups. These take no lock (files are replaced atomically) and skip malformed lines.
 * They read through the parse cache (file-cache.ts): every call re-stats the files, so changes
 * made by other programs are seen at once; records share the cached entries (read-only).
 */
import { findEntry } from './account-file.js';
import type { AccountsConfig } from './config.js';
import { readLookupDb, type AccountDb } from './database.js';
import type { PasswdEntry, ShadowEntry } from './formats.js';
import { readLoginDefs } from './login-defs.js';
import { accountState, daysSinceEpoch, isHumanUser, readShells, type AccountState } from './state.js';

export interface UserRecord {
  passwd: PasswdEntry;
  /** undefined when there is no shadow file or no line for the user. */
  shadow: ShadowEntry | undefined;
  /** Primary group name (if it exists) followed by supplementary groups. */
  groups: string[];
  /** First GECOS sub-field. */
  fullName: string;
}

function record(db: Omit<AccountDb, 'gshadow'>, pw: PasswdEntry): UserRecord {
  const primary = db.group.entries.find((g) => g.gid === pw.gid)?.name;
  const supplementary = db.group.entries.filter((g) => g.members.includes(pw.name) && g.name !== primary).map((g) => g.name);
  return {
    passwd: pw,
    shadow: db.shadow ? findEntry(db.shadow, pw.name) : undefined,
    groups: primary === undefined ? supplementary : [primary, ...supplementary],
    fullName: pw.gecos.split(',')[0] ?? '',
  };
}

export async function getUser(root: string, username: string): Promise<UserRecord | null> {
  const db = await readLookupDb(root);
  const pw = findEntry(db.passwd, username);
  return pw ? record(db, pw) : null;
}

export async function listUsers(root: string): Promise<UserRecord[]> {
  const db = await readLookupDb(root);
  return db.passwd.entries.map((pw) => record(db, pw));
}

/** Users with uid in [UID_MIN, UID_MAX] and a usable login shell (see isHumanUser). */
export async function humanUsers(root: string, config: AccountsConfig = {}): Promise<UserRecord[]> {
  const [db, defs, shells] = await Promise.all([readLookupDb(root), config.loginDefs ?? readLoginDefs(root), readShells(root)]);
  return db.passwd.entries.filter((pw) => isHumanUser(pw, defs, shells)).map((pw) => record(db, pw));
}

export async function countHumanUsers(root: string, config: AccountsConfig = {}): Promise<number> {
  return (await humanUsers(root, config)).length;
}

/** accountState() for a user read from `root`, with /etc/shells and the clock applied. null = no such user. */
export async function getAccountState(root: string, username: string, config: AccountsConfig = {}): Promise<AccountState | null> {
  const [user, shells] = await Promise.all([getUser(root, username), readShells(root)]);
  if (!user) return null;
  return accountState(user.passwd, user.shadow, { nowDays: config.nowDays ? config.nowDays() : daysSinceEpoch(), shells });
}
