import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDaemon, connect, makeRoot, type TestRoot, type TestUser } from '../../../test/harness/index.js';
import type { ProtocolClient } from '../../../protocol/src/node/index.js';

export interface Authd {
  root: TestRoot;
  socket: string;
  powerLog: string;
  sessionLog: string;
  logs(): string;
  stop(): Promise<number | string>;
  restart(how?: 'stop' | 'kill'): Promise<void>;
  client(): Promise<ProtocolClient>;
  pid(): number;
}

/** A recording command: appends its argv (and the REDBEAR_* env) to a file, exits with $EXIT_CODE (default 0). */
export function recorder(dir: string, name: string, exitCode = 0): { script: string; log: string } {
  const script = path.join(dir, `${name}.sh`);
  const log = path.join(dir, `${name}.log`);
  writeFileSync(script, `#!/bin/sh\necho "$* user=$REDBEAR_USER uid=$REDBEAR_UID vt=$REDBEAR_VT" >> ${log}\nexit ${exitCode}\n`);
  chmodSync(script, 0o755);
  return { script, log };
}

/** Test configuration: fast hashes, a short failure delay, recording power/session commands. */
export function testConfig(root: string, extra = ''): { toml: string; powerLog: string; sessionLog: string } {
  const power = recorder(root, 'power');
  const session = recorder(root, 'session');
  const toml = `
[hashing]
sha512_rounds = 5000
[throttle]
failure_delay_ms = 20
[keystore]
enabled = false
[pin]
memory_kib = 1024
time_cost = 1
[power]
shutdown = ["${power.script}", "shutdown"]
reboot = ["${power.script}", "reboot"]
[v1]
session_command = ["${session.script}", "{username}", "{session}"]
${extra}`;
  return { toml, powerLog: power.log, sessionLog: session.log };
}

export async function startAuthd(users: TestUser[] = [], extraToml = '', existing?: TestRoot): Promise<Authd> {
  const root = existing ?? (await makeRoot(users));
  const { toml, powerLog, sessionLog } = testConfig(root.dir, extraToml);
  let d = await startDaemon('authd', { root: root.dir, config: toml, extraArgs: ['--log-file', path.join(root.dir, 'authd.log')] });
  let previous = '';
  const a: Authd = {
    root,
    socket: d.socket,
    powerLog,
    sessionLog,
    logs: () => previous + d.stdout() + d.stderr() + safeRead(path.join(root.dir, 'authd.log')),
    stop: () => d.stop(),
    /** Stop (SIGTERM, pending state flushed) or crash (`kill`: SIGKILL) authd, then start it again. */
    async restart(how: 'stop' | 'kill' = 'stop') {
      if (how === 'kill') {
        d.child.kill('SIGKILL');
        await d.exited;
      }
      await d.stop();
      previous += d.stdout() + d.stderr();
      d = await startDaemon('authd', { root: root.dir, config: toml, extraArgs: ['--log-file', path.join(root.dir, 'authd.log')] });
    },
    client: () => connect('auth', d.socket),
    pid: () => d.child.pid!,
  };
  return a;
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

/** The ProtocolError code a promise rejects with. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/**
 * pwck -r / grpck -r on a root. Uses `-R DIR` so that grpck checks group members against the
 * root's passwd (given file arguments, grpck resolves members against the host's /etc/passwd).
 */
export function checkAccountFiles(dir: string): void {
  execFileSync('pwck', ['-r', '-q', '-R', dir], { stdio: 'pipe' });
  execFileSync('grpck', ['-r', '-R', dir], { stdio: 'pipe' });
}
