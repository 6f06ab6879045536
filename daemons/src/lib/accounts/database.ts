/** Reading the four account databases of a root together, and writing back what changed. */
import { readFile } from 'node:fs/promises';
import { parseAccountFile, serializeAccountFile, type FileProblem, type ParsedFile } from './account-file.js';
import { atomicReplace } from './atomic-write.js';
import { AccountError } from './errors.js';
import { readCached } from './file-cache.js';
import { etcPath, type AccountFileName } from './paths.js';

export interface AccountDb {
  passwd: ParsedFile<'passwd'>;
  group: ParsedFile<'group'>;
  /** null when `<root>/etc/shadow` does not exist. */
  shadow: ParsedFile<'shadow'> | null;
  /** null when `<root>/etc/gshadow` does not exist (it is then never created). */
  gshadow: ParsedFile<'gshadow'> | null;
}

async function readOptional(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AccountError('io', `cannot read ${file}`, { file, cause: e });
  }
}

async function readRequired(file: string): Promise<Buffer> {
  const b = await readOptional(file);
  if (b === null) throw new AccountError('missing_file', `${file} does not exist`, { file });
  return b;
}

/** Parse `<root>/etc/{passwd,group,shadow,gshadow}`. passwd and group must exist. */
export async function readAccountDb(root: string): Promise<AccountDb> {
  const [p, g, s, gs] = await Promise.all([
    readRequired(etcPath(root, 'passwd')),
    readRequired(etcPath(root, 'group')),
    readOptional(etcPath(root, 'shadow')),
    readOptional(etcPath(root, 'gshadow')),
  ]);
  return {
    passwd: parseAccountFile('passwd', p),
    group: parseAccountFile('group', g),
    shadow: s === null ? null : parseAccountFile('shadow', s),
    gshadow: gs === null ? null : parseAccountFile('gshadow', gs),
  };
}

function cachedParse<K extends AccountFileName>(root: string, name: K, required: boolean): Promise<ParsedFile<K> | null> {
  const file = etcPath(root, name);
  return readCached(`account:${name}`, file, (b) => {
    if (b === null) {
      if (required) throw new AccountError('missing_file', `${file} does not exist`, { file });
      return null;
    }
    return parseAccountFile(name, b);
  }).catch((e: unknown) => {
    if (e instanceof AccountError) throw e;
    throw new AccountError('io', `cannot read ${file}`, { file, cause: e });
  });
}

/**
 * readAccountDb for read-only lookups: the same result, from a parse cache that re-stats every
 * file on each call (see file-cache.ts). The returned objects are shared: do not mutate them.
 * Write paths use readAccountDb under the lock instead.
 */
export async function readAccountDbCached(root: string): Promise<AccountDb> {
  const [lookup, gshadow] = await Promise.all([readLookupDb(root), cachedParse(root, 'gshadow', false)]);
  return { ...lookup, gshadow };
}

/** What user lookups need (no gshadow): passwd, group and shadow through the parse cache. */
export async function readLookupDb(root: string): Promise<Omit<AccountDb, 'gshadow'>> {
  const [passwd, group, shadow] = await Promise.all([cachedParse(root, 'passwd', true), cachedParse(root, 'group', true), cachedParse(root, 'shadow', false)]);
  return { passwd: passwd!, group: group!, shadow };
}

export async function readAccountFile<K extends AccountFileName>(root: string, file: K): Promise<ParsedFile<K> | null> {
  const b = await readOptional(etcPath(root, file));
  return b === null ? null : parseAccountFile(file, b);
}

export function allProblems(db: AccountDb): FileProblem[] {
  return [db.passwd, db.shadow, db.group, db.gshadow].flatMap((f) => (f ? f.problems : []));
}

/**
 * Refuse to modify databases that contain malformed lines: a line we cannot
 * parse could hold the very name or id we are about to allocate.
 */
export function assertWritable(root: string, db: AccountDb): void {
  const p = allProblems(db)[0];
  if (p) {
    const file = etcPath(root, p.file);
    throw new AccountError('corrupt_file', `${file}:${p.line}: ${p.reason}`, { file, line: p.line });
  }
}

/**
 * Write the files of `next` whose serialization differs from `prev`, in
 * the order given (callers choose an order so that a crash between two files
 * leaves a consistent-enough state: passwd last when adding, first when deleting).
 */
export async function writeChanged(root: string, prev: AccountDb, next: AccountDb, order: readonly AccountFileName[]): Promise<AccountFileName[]> {
  const written: AccountFileName[] = [];
  for (const name of order) {
    const a = prev[name] as ParsedFile<AccountFileName> | null;
    const b = next[name] as ParsedFile<AccountFileName> | null;
    if (b === null) continue;
    const data = serializeAccountFile(b);
    if (a !== null && data.equals(serializeAccountFile(a))) continue;
    await atomicReplace(etcPath(root, name), data);
    written.push(name);
  }
  return written;
}
