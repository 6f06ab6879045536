import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../../test/harness/index.js';
import { startStack, type Stack } from './fakes.js';

const BIN = path.join(REPO, 'cli/bin/redbear-greeter-check');

function check(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

let stack: Stack;
beforeAll(async () => {
  if (!existsSync(path.join(REPO, 'cli/dist/greeter-check/main.js'))) throw new Error('cli is not built: npx tsc -b cli');
  stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
});
afterAll(async () => {
  await stack.stop();
});

describe('redbear-greeter-check', () => {
  it('without arguments: fails on a missing installation, passes once installed', async () => {
    const root = stack.root.dir;
    const bad = await check(['--root', root]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/FAILED: missing binary \/usr\/bin\/redbear-greeterd/);
    mkdirSync(stack.root.path('/usr/bin'), { recursive: true });
    for (const b of ['redbear-greeterd', 'redbear-greeter-ui', 'redbear-authd', 'redbear-session-launch']) writeFileSync(stack.root.path(`/usr/bin/${b}`), '#!/bin/sh\n', { mode: 0o755 });
    mkdirSync(stack.root.path('/usr/lib/init.d'), { recursive: true });
    writeFileSync(stack.root.path('/usr/lib/init.d/20_greeter.service'), '[unit]\n');
    const ok = await check(['--root', root]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('GREETER_BACKGROUND=/usr/share/redbear/greeter/background.png\n');
    expect(ok.stdout).toContain('GREETER_ICON=/usr/share/redbear/greeter/icon.png\n');
    expect(ok.stdout).toContain('GREETER_SESSION=KDE on Wayland\n');
    expect(ok.stdout).toContain('GREETER_STATE=greeter_ready\n');
    expect(ok.stdout).toContain('GREETER_HELLO=ok\n');
    const dev = await check(['--root', root, '--skip-install']);
    expect(dev.stdout).toContain('GREETER_HELLO=ok\n');
  });

  it('--invalid USER PASSWORD', async () => {
    const r = await check(['--root', stack.root.dir, '--invalid', 'alice', 'wrong-one-1']);
    expect(r.stdout).toBe('GREETER_INVALID=ok\n');
    expect(r.code).toBe(0);
    const wrong = await check(['--root', stack.root.dir, '--invalid', 'alice', 'pw-alice-1234', '--timeout', '5000']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/the invalid login succeeded/);
    // That login really started a session: end it so greeterd is back at the greeter.
    stack.sessiond.end([...stack.sessiond.sessions.keys()].at(-1)!);
  });

  it('--valid USER --password-stdin: the validation session and the return to greeter_ready', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const r = await check(['--root', stack.root.dir, '--valid', 'alice', '--password-stdin'], 'pw-alice-1234\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/GREETER_VALID=ok\n$/);
    expect(r.code).toBe(0);
    expect(existsSync(stack.root.path('/run/redbear-kde-session.validation-request'))).toBe(false);
    const bad = await check(['--root', stack.root.dir, '--valid', 'alice', 'nope-nope-1', '--timeout', '3000']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/login failed: Login failed/);
  });
});
