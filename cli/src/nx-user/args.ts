import { parseArgs } from 'node:util';

/** Exit codes of nx-user (docs/tools/nx-user.md). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  exists: 4,
  invalid: 5,
  permission: 6,
  busy: 7,
} as const;

export const USAGE = `nx-user — manage local Red Bear OS accounts

Usage:
  nx-user [--root DIR] list [--json]
  nx-user [--root DIR] add USER [--full-name NAME] [--admin] [--password-stdin]
  nx-user [--root DIR] passwd USER [--password-stdin]
  nx-user [--root DIR] del USER [--remove-home]
  nx-user [--root DIR] lock USER
  nx-user [--root DIR] unlock USER
  nx-user --help

Talks to redbear-authd over its socket when it runs; otherwise (as root) edits the account
files directly with the same library and shadow-utils locks (--offline forces that).
Passwords are read from standard input (--password-stdin: the first line) or prompted for on
a terminal; never from arguments or the environment.

Options:
  --root DIR          operate on the system under DIR (default /)
  --socket PATH       authd socket (default DIR/run/redbear-authd.sock)
  --offline           do not contact authd
  --json              list: one JSON document
  --full-name NAME    add: the full name (GECOS)
  --admin             add: member of the administrators' group
  --password-stdin    add, passwd: read the password from standard input
  --remove-home       del: also remove the home directory (only if owned by the user)

Exit codes: 0 ok, 1 failure, 2 usage, 3 no such user, 4 already exists,
  5 invalid input (name, weak password), 6 permission denied, 7 busy or rate limited.`;

export class UsageError extends Error {}

export type Command =
  | { cmd: 'help' }
  | { cmd: 'list'; json: boolean }
  | { cmd: 'add'; user: string; fullName: string; admin: boolean; passwordStdin: boolean }
  | { cmd: 'passwd'; user: string; passwordStdin: boolean }
  | { cmd: 'del'; user: string; removeHome: boolean }
  | { cmd: 'lock' | 'unlock'; user: string };

export interface Parsed {
  root: string;
  socket: string | undefined;
  offline: boolean;
  command: Command;
}

export function parse(argv: string[]): Parsed {
  let r;
  try {
    r = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        root: { type: 'string', default: '/' },
        socket: { type: 'string' },
        offline: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'full-name': { type: 'string', default: '' },
        admin: { type: 'boolean', default: false },
        'password-stdin': { type: 'boolean', default: false },
        'remove-home': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = r.values;
  const [cmd, user, ...rest] = r.positionals;
  const root = v.root ?? '/';
  if (!root.startsWith('/')) throw new UsageError('--root takes an absolute path');
  const base = { root, socket: v.socket, offline: v.offline ?? false };
  if (v.help || cmd === 'help') return { ...base, command: { cmd: 'help' } };
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const needUser = (): string => {
    if (!user) throw new UsageError(`${cmd} needs a user name`);
    return user;
  };
  switch (cmd) {
    case 'list':
      if (user) throw new UsageError('list takes no user name');
      return { ...base, command: { cmd, json: v.json ?? false } };
    case 'add':
      return { ...base, command: { cmd, user: needUser(), fullName: v['full-name'] ?? '', admin: v.admin ?? false, passwordStdin: v['password-stdin'] ?? false } };
    case 'passwd':
      return { ...base, command: { cmd, user: needUser(), passwordStdin: v['password-stdin'] ?? false } };
    case 'del':
      return { ...base, command: { cmd, user: needUser(), removeHome: v['remove-home'] ?? false } };
    case 'lock':
    case 'unlock':
      return { ...base, command: { cmd, user: needUser() } };
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}
