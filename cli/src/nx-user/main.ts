#!/usr/bin/env node
import { ProtocolError } from '@redbear/protocol';
import { isAccountError } from '@redbear/daemons/lib/accounts';
import { EXIT, USAGE, UsageError, parse, type Parsed } from './args.js';
import { AuthdBackend, FilesBackend, defaultSocket, type Backend } from './backends.js';
import { readNewPassword } from './password-input.js';

function fail(code: number, msg: string): number {
  process.stderr.write(`nx-user: ${msg}\n`);
  return code;
}

/** Map any error to (exit code, message). */
export function exitFor(e: unknown): [number, string] {
  if (e instanceof UsageError) return [EXIT.usage, `${e.message}\n(try nx-user --help)`];
  if (e instanceof ProtocolError) {
    const m: Partial<Record<string, number>> = {
      not_found: EXIT.notFound,
      exists: EXIT.exists,
      bad_request: EXIT.invalid,
      weak_password: EXIT.invalid,
      no_password: EXIT.invalid,
      unauthorized: EXIT.permission,
      busy: EXIT.busy,
      rate_limited: EXIT.busy,
    };
    return [m[e.code] ?? EXIT.failure, e.message];
  }
  if (isAccountError(e)) {
    const m: Partial<Record<string, number>> = {
      not_found: EXIT.notFound,
      exists: EXIT.exists,
      invalid_username: EXIT.invalid,
      invalid_full_name: EXIT.invalid,
      invalid_group: EXIT.invalid,
      passwordless: EXIT.invalid,
      protected: EXIT.permission,
      lock_timeout: EXIT.busy,
    };
    return [m[e.code] ?? EXIT.failure, e.message];
  }
  if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM') return [EXIT.permission, (e as Error).message];
  return [EXIT.failure, e instanceof Error ? e.message : String(e)];
}

async function backendFor(p: Parsed): Promise<Backend> {
  if (!p.offline) {
    const online = await AuthdBackend.connect(p.socket ?? defaultSocket(p.root));
    if (online) return online;
  }
  if (process.getuid?.() !== 0) throw new ProtocolError('unauthorized', 'redbear-authd is not running and editing the account files needs root');
  return new FilesBackend(p.root);
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
  } catch (e) {
    return fail(...exitFor(e));
  }
  const c = p.command;
  if (c.cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return EXIT.ok;
  }
  let password: Buffer | null = null;
  let backend: Backend | null = null;
  try {
    if (c.cmd === 'add' || c.cmd === 'passwd') password = await readNewPassword(c.passwordStdin);
    backend = await backendFor(p);
    switch (c.cmd) {
      case 'list': {
        const users = await backend.list();
        if (c.json) process.stdout.write(JSON.stringify({ users }, null, 2) + '\n');
        else for (const u of users) process.stdout.write(`${u.username}\t${u.uid}\t${u.locked ? 'locked' : 'active'}\t${u.full_name}\n`);
        break;
      }
      case 'add': {
        const r = await backend.add(c.user, c.fullName, c.admin, password!);
        process.stdout.write(`created ${c.user} (uid ${r.uid})\n`);
        if (r.warning) process.stderr.write(`nx-user: warning: ${r.warning}\n`);
        if (r.recoveryKey) process.stdout.write(`recovery key (shown once, keep it safe): ${r.recoveryKey}\n`);
        break;
      }
      case 'passwd':
        await backend.passwd(c.user, password!);
        process.stdout.write(`password of ${c.user} changed\n`);
        break;
      case 'del':
        await backend.del(c.user, c.removeHome);
        process.stdout.write(`deleted ${c.user}\n`);
        break;
      case 'lock':
      case 'unlock':
        await backend.lock(c.user, c.cmd === 'lock');
        process.stdout.write(`${c.cmd}ed ${c.user}\n`);
        break;
    }
    return EXIT.ok;
  } catch (e) {
    return fail(...exitFor(e));
  } finally {
    password?.fill(0);
    await backend?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
