/** addUser / deleteUser: whole-account creation and removal, under the account lock. */
import { appendEntry, findEntry, mapEntries, replaceEntry } from './account-file.js';
import { nextFreeSystemGid, nextFreeUid } from './allocate.js';
import { resolveConfig, type AccountsConfig } from './config.js';
import { assertWritable, readAccountDb, writeChanged, type AccountDb } from './database.js';
import { AccountError } from './errors.js';
import { MAX_ID, type GroupEntry, type GshadowEntry, type PasswdEntry } from './formats.js';
import { createHome, removeHome } from './home.js';
import { withAccountLock } from './lock.js';
import { freshShadowEntry, readLoginDefs } from './login-defs.js';
import { etcPath, underRoot } from './paths.js';
import { assertFullName, assertHash, assertHome, assertShell, assertUsername, isValidUsername } from './validate.js';

export interface NewUser {
  username: string;
  fullName: string;
  /** Ready crypt(3) hash (or `!`/`*` for a locked account). */
  hash: string;
  shell?: string;
  home?: string;
  /** Add to the configured admin group. */
  admin?: boolean;
  /** Existing supplementary groups. */
  groups?: string[];
  uid?: number;
}

export interface AddedUser {
  username: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  groups: string[];
  /** false when the home directory already existed (left untouched) or creation was disabled. */
  homeCreated: boolean;
}

const ALL = ['passwd', 'shadow', 'group', 'gshadow'] as const;

function addMember(list: string[], name: string): string[] {
  return list.includes(name) ? list : [...list, name];
}

export async function addUser(root: string, user: NewUser, config: AccountsConfig = {}): Promise<AddedUser> {
  const cfg = resolveConfig(config);
  const { username, fullName, hash } = user;
  assertUsername(username);
  assertFullName(fullName);
  assertHash(hash);
  const shell = user.shell ?? cfg.defaultShell;
  assertShell(shell);
  const home = user.home ?? `${cfg.homeBase}/${username}`;
  assertHome(home);
  const wanted = [...new Set([...(user.groups ?? []), ...(user.admin ? [cfg.adminGroup] : [])])];
  for (const g of wanted) if (!isValidUsername(g)) throw new AccountError('invalid_group', `invalid group name ${JSON.stringify(g)}`);
  if (user.uid !== undefined && (!Number.isSafeInteger(user.uid) || user.uid < 0 || user.uid > MAX_ID)) {
    throw new AccountError('invalid_uid', `invalid uid ${user.uid}`);
  }
  const defs = cfg.loginDefs ?? (await readLoginDefs(root));

  return withAccountLock(
    root,
    ALL,
    async () => {
      const db = await readAccountDb(root);
      assertWritable(root, db);
      if (!db.shadow) throw new AccountError('missing_file', `${etcPath(root, 'shadow')} does not exist`, { file: etcPath(root, 'shadow') });
      if (findEntry(db.passwd, username) || findEntry(db.shadow, username)) throw new AccountError('exists', `user ${username} already exists`);
      if (findEntry(db.group, username)) throw new AccountError('exists', `a group named ${username} already exists`);

      let uid: number;
      if (user.uid !== undefined) {
        uid = user.uid;
        if (db.passwd.entries.some((p) => p.uid === uid)) throw new AccountError('exists', `uid ${uid} is already used`);
      } else {
        const id = nextFreeUid(db.passwd.entries, db.group.entries, defs.UID_MIN, defs.UID_MAX);
        if (id === null) throw new AccountError('uid_exhausted', `no free uid in [${defs.UID_MIN}, ${defs.UID_MAX}]`);
        uid = id;
      }
      // User private group with gid = uid when that gid is free; else the next free id in the gid range.
      let gid = uid;
      if (db.group.entries.some((g) => g.gid === gid)) {
        const id = nextFreeUid([], db.group.entries, defs.GID_MIN, defs.GID_MAX);
        if (id === null) throw new AccountError('uid_exhausted', `no free gid in [${defs.GID_MIN}, ${defs.GID_MAX}]`);
        gid = id;
      }

      let group = db.group;
      let gshadow = db.gshadow;
      for (const g of wanted) {
        if (findEntry(group, g)) continue;
        if (g === cfg.adminGroup && cfg.createAdminGroup) {
          const agid = nextFreeSystemGid(group.entries, defs.SYS_GID_MIN, defs.SYS_GID_MAX);
          if (agid === null) throw new AccountError('uid_exhausted', `no free system gid for group ${g}`);
          group = appendEntry(group, { name: g, password: 'x', gid: agid, members: [] });
          if (gshadow && !findEntry(gshadow, g)) gshadow = appendEntry(gshadow, { name: g, password: '!', admins: [], members: [] });
        } else {
          throw new AccountError('invalid_group', `group ${g} does not exist`);
        }
      }
      group = appendEntry(group, { name: username, password: 'x', gid, members: [] } satisfies GroupEntry);
      group = mapEntries(group, (e) => (wanted.includes(e.name) ? { ...e, members: addMember(e.members, username) } : e));
      if (gshadow) {
        gshadow = appendEntry(gshadow, { name: username, password: '!', admins: [], members: [] } satisfies GshadowEntry);
        gshadow = mapEntries(gshadow, (e) => (wanted.includes(e.name) ? { ...e, members: addMember(e.members, username) } : e));
      }
      const shadowEntry = freshShadowEntry(username, hash, defs, cfg.nowDays());
      const passwdEntry: PasswdEntry = { name: username, password: 'x', uid, gid, gecos: fullName, home, shell };
      const next: AccountDb = {
        passwd: appendEntry(db.passwd, passwdEntry),
        shadow: appendEntry(db.shadow, shadowEntry),
        group,
        gshadow,
      };

      let homeCreated = false;
      if (cfg.createHome) {
        const skel = cfg.skel === null ? null : underRoot(root, cfg.skel);
        homeCreated = await createHome(underRoot(root, home), skel, uid, gid, cfg.homeMode);
      }
      // Groups first, passwd last: the account only "exists" once fully written.
      await writeChanged(root, db, next, ['group', 'gshadow', 'shadow', 'passwd']);
      return { username, uid, gid, home, shell, groups: wanted, homeCreated };
    },
    { timeoutMs: cfg.lockTimeoutMs },
  );
}

export interface DeleteOptions {
  /** Remove the home directory (only if it is a directory owned by the user). */
  removeHome?: boolean;
}

export interface DeletedUser {
  username: string;
  uid: number;
  removedGroup: boolean;
  removedHome: boolean;
}

export async function deleteUser(root: string, username: string, opts: DeleteOptions = {}, config: AccountsConfig = {}): Promise<DeletedUser> {
  const cfg = resolveConfig(config);
  return withAccountLock(
    root,
    ALL,
    async () => {
      const db = await readAccountDb(root);
      assertWritable(root, db);
      const pw = findEntry(db.passwd, username);
      if (!pw) throw new AccountError('not_found', `user ${username} does not exist`);
      if (pw.uid === 0) throw new AccountError('protected', `refusing to delete uid 0 account ${username}`);

      const strip = <E extends { members: string[] }>(e: E): E =>
        e.members.includes(username) ? { ...e, members: e.members.filter((m) => m !== username) } : e;
      let group = mapEntries(db.group, strip);
      let gshadow = db.gshadow
        ? mapEntries(db.gshadow, (e) => {
            const s = strip(e);
            return s.admins.includes(username) ? { ...s, admins: s.admins.filter((m) => m !== username) } : s;
          })
        : null;
      // Private group: same name, is the user's primary group, no other member, not another user's primary group.
      const upg = findEntry(group, username);
      const removedGroup =
        upg !== undefined && upg.gid === pw.gid && upg.members.length === 0 && !db.passwd.entries.some((p) => p.name !== username && p.gid === upg.gid);
      if (removedGroup) {
        group = replaceEntry(group, username, null);
        if (gshadow) gshadow = replaceEntry(gshadow, username, null);
      }
      const next: AccountDb = {
        passwd: replaceEntry(db.passwd, username, null),
        shadow: db.shadow ? replaceEntry(db.shadow, username, null) : null,
        group,
        gshadow,
      };
      // passwd first: once it is gone the account no longer exists, whatever happens next.
      await writeChanged(root, db, next, ['passwd', 'shadow', 'group', 'gshadow']);
      const removedHome = opts.removeHome ? await removeHome(underRoot(root, pw.home), pw.uid) : false;
      return { username, uid: pw.uid, removedGroup, removedHome };
    },
    { timeoutMs: cfg.lockTimeoutMs },
  );
}
