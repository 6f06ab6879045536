import { existsSync, lstatSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { v1Request } from '@redbear/protocol/node';

/**
 * redbear-greeter-check (seed §11.3): the in-target checker of the greeter.
 *
 *   redbear-greeter-check [--root DIR]                       installation + socket + hello
 *   redbear-greeter-check [--root DIR] --invalid USER PASSWORD   a bad login fails cleanly
 *   redbear-greeter-check [--root DIR] --valid USER PASSWORD     a validation-only session starts
 *
 * Passwords on argv are the seed's interface; they are visible to other users (ps,
 * /proc/PID/cmdline), so --password-stdin reads the password from stdin instead.
 */
const USAGE = `Usage: redbear-greeter-check [--root DIR] [--timeout MS] [--skip-install]
                             [--invalid USER [PASSWORD] | --valid USER [PASSWORD]] [--password-stdin]

  (no mode)            check binaries, assets, service files and the socket; send hello
  --invalid USER PW    a wrong login must fail cleanly and greeterd be greeter_ready again
  --valid USER PW      log in with a validation-only session (sessiond writes the success marker),
                       then wait for greeter_ready again
  --password-stdin     read the password from stdin (argv is visible to other users)
  --skip-install       do not check installed binaries and service files (development roots)
  --timeout MS         how long to wait for the session and the return (default 30000)
  --root DIR           resolve every path under DIR (default /)`;

const BINARIES = ['/usr/bin/redbear-greeterd', '/usr/bin/redbear-greeter-ui', '/usr/bin/redbear-authd', '/usr/bin/redbear-session-launch'];
/** Any one of these makes the greeter service "installed" (Red Bear init or systemd). */
const SERVICE_FILES = [
  '/usr/lib/init.d/20_greeter.service',
  '/etc/init.d/20_greeter.service',
  '/usr/lib/systemd/system/redbear-greeterd.service',
  '/lib/systemd/system/redbear-greeterd.service',
  '/etc/systemd/system/redbear-greeterd.service',
];
const SOCKET = '/run/redbear-greeterd.sock';
const VALIDATION_REQUEST = '/run/redbear-kde-session.validation-request';
const VALIDATION_SUCCESS = '/run/redbear-kde-session.validation-success';

class CheckFailed extends Error {}

interface Options {
  root: string;
  timeoutMs: number;
  skipInstall: boolean;
  mode: 'check' | 'invalid' | 'valid';
  user: string | undefined;
  password: string | undefined;
  passwordStdin: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { root: '/', timeoutMs: 30_000, skipInstall: false, mode: 'check', user: undefined, password: undefined, passwordStdin: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new CheckFailed(`${a} needs a value`);
      return v;
    };
    if (a === '--root') o.root = path.resolve(next());
    else if (a === '--timeout') o.timeoutMs = Number(next());
    else if (a === '--skip-install') o.skipInstall = true;
    else if (a === '--password-stdin') o.passwordStdin = true;
    else if (a === '--invalid' || a === '--valid') {
      if (o.mode !== 'check') throw new CheckFailed('only one of --invalid and --valid');
      o.mode = a === '--valid' ? 'valid' : 'invalid';
      o.user = next();
      const pw = argv[i + 1];
      if (pw !== undefined && !pw.startsWith('--')) o.password = argv[++i];
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else throw new CheckFailed(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 100) throw new CheckFailed('--timeout takes milliseconds >= 100');
  if (o.mode !== 'check' && o.password === undefined && !o.passwordStdin) throw new CheckFailed(`--${o.mode} needs USER and PASSWORD (or --password-stdin)`);
  return o;
}

async function readStdinPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  chunks.forEach((c) => c.fill(0));
  return text.split('\n')[0] ?? '';
}

const out = (k: string, v: string) => process.stdout.write(`GREETER_${k}=${v}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function hello(sock: string): Promise<Record<string, unknown>> {
  const h = await v1Request(sock, { type: 'hello', version: 1 }).catch((e: Error) => {
    throw new CheckFailed(`hello failed: ${e.message}`);
  });
  if (h.type !== 'hello_ok') throw new CheckFailed(`hello answered ${String(h.type)}: ${String(h.message ?? '')}`);
  return h;
}

async function waitFor(what: string, timeoutMs: number, fn: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(fn).catch(() => false)) return;
    if (Date.now() > end) throw new CheckFailed(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const o = parse(argv);
    const p = (abs: string) => (o.root === '/' ? abs : path.join(o.root, abs));
    const sock = p(SOCKET);

    if (o.mode === 'check') {
      if (!o.skipInstall) {
        for (const b of BINARIES) if (!existsSync(p(b))) throw new CheckFailed(`missing binary ${b}`);
        out('BINARIES', 'ok');
        const svc = SERVICE_FILES.find((f) => existsSync(p(f)));
        if (!svc) throw new CheckFailed(`no greeter service file (${SERVICE_FILES.join(', ')})`);
        out('SERVICE', svc);
      }
      if (!existsSync(sock) || !lstatSync(sock).isSocket()) throw new CheckFailed(`${SOCKET} is not a socket`);
      const mode = statSync(sock).mode & 0o777;
      if (mode !== 0o660) throw new CheckFailed(`${SOCKET} has mode ${mode.toString(8)}, expected 660`);
      out('SOCKET', 'ok');
    }

    const h = await hello(sock);
    if (o.mode === 'check') {
      for (const key of ['background', 'icon'] as const) {
        const f = String(h[key]);
        if (!f.startsWith('/') || !existsSync(p(f))) throw new CheckFailed(`${key} ${f} is missing`);
      }
      out('BACKGROUND', String(h.background));
      out('ICON', String(h.icon));
      out('SESSION', String(h.session_name));
      out('STATE', String(h.state));
      out('HELLO', 'ok');
      return 0;
    }

    const password = o.passwordStdin ? await readStdinPassword() : o.password!;
    if (h.state !== 'greeter_ready') throw new CheckFailed(`greeterd is ${String(h.state)}, not greeter_ready`);

    if (o.mode === 'invalid') {
      const r = await v1Request(sock, { type: 'submit_login', username: o.user, password }, o.timeoutMs);
      if (r.type !== 'login_result') throw new CheckFailed(`submit_login answered ${String(r.type)}: ${String(r.message ?? '')}`);
      if (r.ok !== false) throw new CheckFailed('the invalid login succeeded');
      if (r.state !== 'greeter_ready') throw new CheckFailed(`after the failed login the state is ${String(r.state)}`);
      const again = await hello(sock);
      if (again.state !== 'greeter_ready') throw new CheckFailed(`greeterd is ${String(again.state)} after the failed login`);
      out('INVALID', 'ok');
      return 0;
    }

    rmSync(p(VALIDATION_SUCCESS), { force: true });
    writeFileSync(p(VALIDATION_REQUEST), `requested by redbear-greeter-check at ${new Date().toISOString()}\n`, { mode: 0o600 });
    try {
      const r = await v1Request(sock, { type: 'submit_login', username: o.user, password }, o.timeoutMs);
      if (r.type !== 'login_result') throw new CheckFailed(`submit_login answered ${String(r.type)}: ${String(r.message ?? '')}`);
      if (r.ok !== true) throw new CheckFailed(`login failed: ${String(r.message)}`);
      await waitFor(VALIDATION_SUCCESS, o.timeoutMs, () => existsSync(p(VALIDATION_SUCCESS)));
      await waitFor('greeter_ready after the session', o.timeoutMs, async () => (await hello(sock)).state === 'greeter_ready');
    } finally {
      rmSync(p(VALIDATION_REQUEST), { force: true });
    }
    const success = readFileSync(p(VALIDATION_SUCCESS), 'utf8').trim().split('\n')[0] ?? '';
    if (success) out('VALID_DETAIL', success.slice(0, 200));
    out('VALID', 'ok');
    return 0;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`redbear-greeter-check: FAILED: ${msg}\n`);
    if (!(e instanceof CheckFailed)) process.stderr.write(`${USAGE}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
