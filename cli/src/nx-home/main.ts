import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ProtocolError } from '@redbear/protocol';
import { KeystoreClient, remoteKeyProvider } from '@redbear/daemons/lib/keystore-client';
import {
  detectPersistence,
  openStore,
  verifyStore,
  isSecureFsError,
  CONF_FILE,
  type KeyProvider,
  type ListEntry,
  type VerifyReport,
} from '@redbear/daemons/lib/securefs';

/**
 * nx-home — inspect and use a user's SecureFS home through keystored.
 * Store of uid U: state:/secure/home/U/ = <root>/state/secure/home/U/. Docs: docs/tools/nx-home.md.
 */

export const EXIT = { ok: 0, problems: 1, usage: 2, denied: 3, notFound: 4, unavailable: 5, internal: 70 } as const;

const USAGE = `Usage: nx-home [--root DIR] [--socket PATH] [--json] COMMAND USER [ARGS]

Commands:
  status USER              keystore record, store, unlocked, persistent
  verify USER              authenticate every object and the index
                           (--token-stdin: a session token on stdin, or
                            --recovery-stdin: the recovery key on stdin)
  ls USER [PATH]           list a directory           (--token-stdin)
  get USER PATH            write a file to stdout     (--token-stdin, --out FILE)
  put USER PATH            store a file               (--token-stdin, --from FILE;
                           without --from the data is the rest of stdin after the token line)

USER is a user name or a numeric uid. Secrets are read from stdin only (never argv or env).
Exit codes: 0 ok, 1 verify found problems, 2 usage, 3 denied (auth failed, locked,
rate limited, bad token), 4 not found, 5 keystored unavailable, 70 internal error.
`;

class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

interface Io {
  stdin: () => Promise<Buffer>;
  out: (s: string | Buffer) => void;
  err: (s: string) => void;
}

function resolveUser(root: string, user: string): { uid: number; name: string } {
  let passwd = '';
  try {
    passwd = readFileSync(path.join(root, 'etc/passwd'), 'utf8');
  } catch {
    /* no passwd: numeric uids still work */
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === user || f[2] === user) return { uid: Number(f[2]), name: f[0]! };
  }
  if (/^[0-9]{1,10}$/.test(user)) return { uid: Number(user), name: user };
  throw new CliError(EXIT.notFound, `no such user: ${user}`);
}

/** Map errors to exit codes. */
function fail(e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof ProtocolError) {
    const denied = ['auth_failed', 'keystore_locked', 'unauthorized', 'rate_limited', 'approval_invalid', 'invalid_state'];
    const extra = e.extra.retry_after_ms !== undefined ? ` (retry after ${e.extra.retry_after_ms} ms)` : '';
    if (denied.includes(e.code)) return new CliError(EXIT.denied, `${e.code}: ${e.message}${extra}`);
    if (e.code === 'not_found') return new CliError(EXIT.notFound, `${e.code}: ${e.message}`);
    if (e.code === 'unavailable' || e.code === 'timeout' || e.code === 'busy') return new CliError(EXIT.unavailable, `keystored: ${e.code}: ${e.message}`);
    return new CliError(EXIT.internal, `${e.code}: ${e.message}`);
  }
  if (isSecureFsError(e)) {
    if (e.code === 'locked') return new CliError(EXIT.denied, `locked: ${e.message}`);
    if (e.code === 'not_found') return new CliError(EXIT.notFound, e.message);
    if (e.code === 'integrity' || e.code === 'rollback') return new CliError(EXIT.problems, `${e.code}${e.kind ? `/${e.kind}` : ''}: ${e.message}`);
    return new CliError(EXIT.internal, `${e.code}: ${e.message}`);
  }
  return new CliError(EXIT.internal, (e as Error)?.message ?? String(e));
}

function firstLine(buf: Buffer): { line: Buffer; rest: Buffer } {
  const nl = buf.indexOf(0x0a);
  const end = nl < 0 ? buf.length : nl;
  let lineEnd = end;
  if (lineEnd > 0 && buf[lineEnd - 1] === 0x0d) lineEnd--;
  return { line: buf.subarray(0, lineEnd), rest: nl < 0 ? Buffer.alloc(0) : buf.subarray(nl + 1) };
}

/** One `ls` line: type (d, -, l), mode, size, mtime, name; a symlink ends in `-> target`. */
export function formatEntry(e: ListEntry): string {
  const type = e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : '-';
  const link = e.type === 'symlink' ? ` -> ${e.target ?? ''}` : '';
  return `${type} ${e.mode.toString(8).padStart(4, '0')} ${String(e.size).padStart(12)} ${new Date(e.mtimeMs).toISOString()} ${e.name}${link}\n`;
}

function formatReport(r: VerifyReport): string {
  const lines = [
    `${r.ok ? 'OK' : 'PROBLEMS'}: epoch ${r.epoch ?? '-'}, ${r.files} files, ${r.dirs} dirs, ${r.symlinks} symlinks, ${r.chunksVerified} chunks authenticated`,
  ];
  for (const p of r.problems) {
    const where = [p.path && `path=${p.path}`, p.object && `object=${p.object}`, p.chunk !== undefined && `chunk=${p.chunk}`].filter(Boolean).join(' ');
    lines.push(`${p.severity.toUpperCase()} ${p.code}/${p.kind}${where ? ' ' + where : ''}: ${p.message}`);
  }
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        root: { type: 'string', default: '/' },
        socket: { type: 'string' },
        json: { type: 'boolean', default: false },
        'token-stdin': { type: 'boolean', default: false },
        'recovery-stdin': { type: 'boolean', default: false },
        from: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    io.err(`nx-home: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values: o, positionals } = parsed;
  if (o.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  const [cmd, user, arg] = positionals;
  if (!cmd || !user || !['status', 'verify', 'ls', 'get', 'put'].includes(cmd) || positionals.length > 3) {
    io.err(USAGE);
    return EXIT.usage;
  }
  const root = path.resolve(o.root ?? '/');
  const socketPath = o.socket ?? path.join(root, 'run/redbear-keystored.sock');
  const client = new KeystoreClient({ socketPath, clientName: 'nx-home' });
  let closeToken: string | null = null;
  let provider: KeyProvider | null = null;
  try {
    const { uid, name } = resolveUser(root, user);
    const storeDir = path.join(root, 'state/secure/home', String(uid));
    const storeExists = existsSync(path.join(storeDir, CONF_FILE));

    if (cmd === 'status') {
      const persistence = await detectPersistence(storeDir);
      let ks: Awaited<ReturnType<KeystoreClient['status']>> | null = null;
      let ksError: string | null = null;
      try {
        ks = await client.status(uid);
      } catch (e) {
        ksError = e instanceof ProtocolError ? `${e.code}: ${e.message}` : String(e);
      }
      const report = {
        user: name,
        uid,
        home_uri: `state:/secure/home/${uid}/`,
        store_dir: storeDir,
        store_exists: storeExists,
        record_exists: ks?.exists ?? null,
        unlocked: ks?.unlocked ?? null,
        protectors: ks?.protectors ?? null,
        open_sessions: ks?.open_sessions ?? null,
        persistent: persistence.persistent,
        persistence_reason: persistence.reason,
        keystore_error: ksError,
      };
      if (o.json) io.out(JSON.stringify(report) + '\n');
      else {
        io.out(
          [
            `user:        ${name} (uid ${uid})`,
            `home:        ${report.home_uri} → ${storeDir}`,
            `store:       ${storeExists ? 'exists' : 'absent'}`,
            `record:      ${ks ? (ks.exists ? `exists (${ks.protectors.join(', ')})` : 'absent') : `unknown (${ksError})`}`,
            `unlocked:    ${ks ? String(ks.unlocked) : 'unknown'}${ks ? ` (${ks.open_sessions} open sessions)` : ''}`,
            `persistent:  ${persistence.persistent} (${persistence.reason})`,
          ].join('\n') + '\n',
        );
      }
      return ksError ? EXIT.unavailable : EXIT.ok;
    }

    if (o['token-stdin'] === o['recovery-stdin']) throw new CliError(EXIT.usage, `${cmd} needs exactly one of --token-stdin${cmd === 'verify' ? ' or --recovery-stdin' : ''}`);
    if (o['recovery-stdin'] && cmd !== 'verify') throw new CliError(EXIT.usage, '--recovery-stdin is only for verify');
    const input = await io.stdin();
    const { line, rest } = firstLine(input);
    let token: string;
    if (o['recovery-stdin']) {
      const { grant } = await client.unlock(uid, line, 'recovery');
      line.fill(0);
      const s = await client.openSession(grant, `nx-home-${process.pid}`, ['home']);
      token = s.token;
      closeToken = token;
    } else {
      token = line.toString('utf8').trim();
      if (!/^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/.test(token) || token.length > 512) throw new CliError(EXIT.denied, 'stdin does not start with a session token');
    }
    const info = await client.sessionInfo(token);
    if (info.uid !== uid) throw new CliError(EXIT.denied, `the session token belongs to uid ${info.uid}, not ${uid}`);
    if (!storeExists) throw new CliError(EXIT.notFound, `no SecureFS store at ${storeDir}`);
    provider = remoteKeyProvider(client, token, info.storeId);

    if (cmd === 'verify') {
      const report = await verifyStore(storeDir, provider);
      io.out(o.json ? JSON.stringify(report) + '\n' : formatReport(report));
      return report.ok ? EXIT.ok : EXIT.problems;
    }

    const store = await openStore(storeDir, provider);
    try {
      if (cmd === 'ls') {
        const entries = await store.list(arg ?? '/');
        if (o.json) io.out(JSON.stringify(entries) + '\n');
        else for (const e of entries) io.out(formatEntry(e));
        return EXIT.ok;
      }
      if (!arg) throw new CliError(EXIT.usage, `${cmd} needs a PATH`);
      if (cmd === 'get') {
        const data = await store.readFile(arg);
        if (o.out) await writeFile(o.out, data, { mode: 0o600 });
        else io.out(data);
        return EXIT.ok;
      }
      const data = o.from ? readFileSync(o.from) : rest;
      await store.writeFile(arg, data);
      return EXIT.ok;
    } finally {
      await store.close();
    }
  } catch (e) {
    const c = fail(e);
    io.err(`nx-home: ${c.message}\n`);
    return c.exitCode;
  } finally {
    provider?.close?.();
    if (closeToken) await client.closeSession(closeToken).catch(() => undefined);
    client.close();
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const invokedDirectly = process.argv[1] !== undefined && (process.argv[1].endsWith('/nx-home') || process.argv[1].endsWith('/nx-home/main.js'));
if (invokedDirectly) {
  const stdout = process.stdout;
  const code = await main(process.argv.slice(2), {
    stdin: readStdin,
    out: (s) => void stdout.write(s),
    err: (s) => void process.stderr.write(s),
  });
  // Let stdout drain before exiting.
  stdout.write('', () => process.exit(code));
}
