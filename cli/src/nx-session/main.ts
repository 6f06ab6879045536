#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ProtocolError, type Message } from '@redbear/protocol';
import { ProtocolClient } from '@redbear/protocol/node';

/**
 * nx-session: list, log in, lock, unlock, switch and log out sessions of redbear-sessiond.
 * Approvals come from redbear-authd; sessions from redbear-sessiond (docs/tools/nx-session.md).
 */
export const EXIT = { ok: 0, failed: 1, auth: 2, not_found: 3, state: 4, usage: 64, unavailable: 69, permission: 77 } as const;

const USAGE = `Usage: nx-session [--root DIR] COMMAND
  list [--json]                      sessions of the seat (any user; read-only socket)
  login USER [--password-stdin] [--vt N]
                                     start a session (locks the active one first)
  lock [SID | --all]                 lock one session (default: the active one) or all
  unlock SID [--password-stdin]      unlock a locked session (needs its user's password)
  switch USER|SID [--password-stdin] switch to a user's session (unlock) or log USER in
  logout SID                         end a session
  --help                             this text
Exit codes: 0 ok, 1 failed, 2 authentication refused, 3 no such session/user,
4 invalid state (locked/active/in use), 64 usage, 69 daemon unreachable, 77 not permitted.`;

class Usage extends Error {}

function exitFor(e: unknown): number {
  if (e instanceof Usage) return EXIT.usage;
  if (!(e instanceof ProtocolError)) return EXIT.failed;
  switch (e.code) {
    case 'auth_failed':
    case 'approval_invalid':
    case 'rate_limited':
    case 'account_locked':
    case 'account_disabled':
    case 'account_expired':
    case 'password_expired':
    case 'keystore_locked':
      return EXIT.auth;
    case 'not_found':
      return EXIT.not_found;
    case 'invalid_state':
    case 'conflict':
    case 'exists':
      return EXIT.state;
    case 'unavailable':
    case 'timeout':
      return EXIT.unavailable;
    case 'unauthorized':
      return EXIT.permission;
    default:
      return EXIT.failed;
  }
}

async function readSecret(fromStdin: boolean, prompt: string): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    if (!fromStdin) throw new Usage('stdin is not a terminal: use --password-stdin');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  let out = '';
  try {
    for await (const c of process.stdin) {
      for (const ch of (c as Buffer).toString('utf8')) {
        if (ch === '\r' || ch === '\n') return out;
        if (ch === '\u0003') throw new Usage('cancelled');
        if (ch === '\u007f') out = out.slice(0, -1);
        else out += ch;
      }
    }
    return out;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write('\n');
  }
}

interface Ctx {
  root: string;
  p(abs: string): string;
}

async function withClient<T>(iface: 'session' | 'auth', socketPath: string, fn: (c: ProtocolClient) => Promise<T>): Promise<T> {
  const c = await ProtocolClient.connect({ iface, socketPath, clientName: 'nx-session', timeoutMs: 30_000 });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const session = (ctx: Ctx) => ctx.p('/run/redbear-sessiond.sock');
const query = (ctx: Ctx) => ctx.p('/run/redbear-sessiond-query.sock');
const authd = (ctx: Ctx) => ctx.p('/run/redbear-authd.sock');

async function approve(ctx: Ctx, username: string, vt: number, purpose: 'login' | 'unlock', stdin: boolean, sid?: string): Promise<string> {
  const password = await readSecret(stdin, `Password for ${username}: `);
  return withClient('auth', authd(ctx), async (c) => {
    const r = await c.request({ type: 'authenticate', username, password, vt, purpose, ...(sid ? { session_id: sid } : {}) }, 60_000);
    return r.approval as string;
  });
}

type Rec = { sid: string; uid: number; username: string; vt: number; state: string; leader_pid: number | null; home_uri: string };

async function list(ctx: Ctx): Promise<Rec[]> {
  return withClient('session', query(ctx), async (c) => (await c.request({ type: 'list_sessions' })).sessions as Rec[]);
}

function freeVt(sessions: Rec[]): number {
  for (let vt = 4; vt <= 63; vt++) if (!sessions.some((s) => s.vt === vt)) return vt;
  throw new ProtocolError('conflict', 'no free VT');
}

function show(s: Message | Rec): string {
  const r = s as Rec;
  return `${r.sid}\t${r.username}\tuid=${r.uid}\tvt=${r.vt}\t${r.state}`;
}

export async function run(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        root: { type: 'string', default: '/' },
        json: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        'password-stdin': { type: 'boolean', default: false },
        vt: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`nx-session: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const root = path.resolve(v.root ?? '/');
  const ctx: Ctx = { root, p: (abs) => (root === '/' ? abs : path.join(root, abs)) };
  const [cmd, arg, ...rest] = positionals;
  const stdin = v['password-stdin'] ?? false;
  try {
    if (rest.length) throw new Usage(`unexpected argument ${rest[0]}`);
    switch (cmd) {
      case 'list': {
        const sessions = await list(ctx);
        if (v.json) out(JSON.stringify(sessions, null, 2));
        else if (sessions.length === 0) out('no sessions');
        else for (const s of sessions) out(show(s));
        return EXIT.ok;
      }
      case 'login': {
        if (!arg) throw new Usage('login needs a USER');
        const vt = v.vt !== undefined ? Number(v.vt) : freeVt(await list(ctx));
        if (!Number.isInteger(vt) || vt < 1 || vt > 63) throw new Usage('--vt takes 1..63');
        const approval = await approve(ctx, arg, vt, 'login', stdin);
        const r = await withClient('session', session(ctx), (c) => c.request({ type: 'create_session', approval, vt }, 60_000));
        out(show(r.session as Rec));
        return EXIT.ok;
      }
      case 'lock': {
        const r = await withClient('session', session(ctx), async (c) => {
          if (v.all) return (await c.request({ type: 'lock_all' })).sessions as Rec[];
          let sid = arg;
          if (!sid) {
            const cur = (await c.request({ type: 'current_session' })).session as Rec | null;
            if (!cur) throw new ProtocolError('not_found', 'no active session');
            sid = cur.sid;
          }
          return [(await c.request({ type: 'lock', sid })).session as Rec];
        });
        for (const s of r) out(show(s));
        return EXIT.ok;
      }
      case 'unlock':
      case 'switch': {
        if (!arg) throw new Usage(`${cmd} needs a ${cmd === 'unlock' ? 'SID' : 'USER or SID'}`);
        const sessions = await list(ctx);
        const target = sessions.find((s) => s.sid === arg) ?? (cmd === 'switch' ? sessions.find((s) => s.username === arg) : undefined);
        if (!target) {
          if (cmd === 'unlock') throw new ProtocolError('not_found', `no session ${arg}`);
          const vt = v.vt !== undefined ? Number(v.vt) : freeVt(sessions);
          const approval = await approve(ctx, arg, vt, 'login', stdin);
          const r = await withClient('session', session(ctx), (c) => c.request({ type: 'create_session', approval, vt }, 60_000));
          out(show(r.session as Rec));
          return EXIT.ok;
        }
        if (target.state === 'active') {
          out(show(target));
          return EXIT.ok;
        }
        const approval = await approve(ctx, target.username, target.vt, 'unlock', stdin, target.sid);
        const r = await withClient('session', session(ctx), (c) => c.request({ type: cmd === 'unlock' ? 'unlock' : 'activate', sid: target.sid, approval }, 60_000));
        out(show(r.session as Rec));
        return EXIT.ok;
      }
      case 'logout': {
        if (!arg) throw new Usage('logout needs a SID');
        const r = await withClient('session', session(ctx), (c) => c.request({ type: 'logout', sid: arg }, 60_000));
        out(`${r.sid as string}\tended\texit=${r.exit_code === null ? '-' : String(r.exit_code)}`);
        return EXIT.ok;
      }
      default:
        throw new Usage(cmd ? `unknown command ${cmd}` : 'no command');
    }
  } catch (e) {
    process.stderr.write(`nx-session: ${(e as Error).message}\n`);
    if (e instanceof Usage) process.stderr.write(USAGE + '\n');
    return exitFor(e);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').slice(-2).join('/'))) {
  process.exitCode = await run(process.argv.slice(2));
}
