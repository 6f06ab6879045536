/** Password-hash changes and locking (usermod -L / -U semantics), under the account lock. */
import { appendEntry, findEntry, replaceEntry } from './account-file.js';
import { resolveConfig, type AccountsConfig } from './config.js';
import { assertWritable, readAccountDb, writeChanged, type AccountDb } from './database.js';
import { AccountError } from './errors.js';
import type { ShadowEntry } from './formats.js';
import { withAccountLock } from './lock.js';
import { freshShadowEntry, readLoginDefs } from './login-defs.js';
import { etcPath } from './paths.js';
import { assertHash } from './validate.js';

type ShadowEdit = (current: ShadowEntry, db: AccountDb) => ShadowEntry;

async function editShadow(root: string, username: string, config: AccountsConfig, edit: ShadowEdit): Promise<ShadowEntry> {
  const cfg = resolveConfig(config);
  const defs = cfg.loginDefs ?? (await readLoginDefs(root));
  return withAccountLock(
    root,
    ['passwd', 'shadow'],
    async () => {
      const db = await readAccountDb(root);
      assertWritable(root, db);
      if (!db.shadow) throw new AccountError('missing_file', `${etcPath(root, 'shadow')} does not exist`, { file: etcPath(root, 'shadow') });
      const pw = findEntry(db.passwd, username);
      if (!pw) throw new AccountError('not_found', `user ${username} does not exist`);
      let passwd = db.passwd;
      let shadow = db.shadow;
      let current = findEntry(shadow, username);
      if (!current) {
        // passwd-only account (hash in passwd, or `x` with a missing shadow line): move it to shadow like pwconv.
        current = freshShadowEntry(username, pw.password === 'x' ? '!' : pw.password, defs, cfg.nowDays());
        shadow = appendEntry(shadow, current);
        if (pw.password !== 'x') passwd = replaceEntry(passwd, username, { ...pw, password: 'x' });
      }
      const updated = edit(current, db);
      shadow = replaceEntry(shadow, username, updated);
      // shadow first: passwd's `x` must never point at a missing shadow line.
      await writeChanged(root, db, { ...db, passwd, shadow }, ['shadow', 'passwd']);
      return updated;
    },
    { timeoutMs: cfg.lockTimeoutMs },
  );
}

/** Replace the hash (a ready crypt(3) string) and set the last change to today. */
export async function setPasswordHash(root: string, username: string, hash: string, config: AccountsConfig = {}): Promise<void> {
  assertHash(hash);
  const now = resolveConfig(config).nowDays();
  await editShadow(root, username, config, (e) => ({ ...e, hash, lastChange: now }));
}

/** Lock the password like `usermod -L`: prefix `!` (idempotent). */
export async function lockUser(root: string, username: string, config: AccountsConfig = {}): Promise<void> {
  await editShadow(root, username, config, (e) => (e.hash.startsWith('!') ? e : { ...e, hash: `!${e.hash}` }));
}

/**
 * Unlock like `usermod -U`: drop one leading `!`. Refuses (code
 * `passwordless`) when that would leave an empty hash. No-op when not locked.
 */
export async function unlockUser(root: string, username: string, config: AccountsConfig = {}): Promise<void> {
  await editShadow(root, username, config, (e) => {
    if (!e.hash.startsWith('!')) return e;
    const hash = e.hash.slice(1);
    if (hash === '') throw new AccountError('passwordless', `unlocking ${username} would leave a passwordless account`);
    return { ...e, hash };
  });
}
