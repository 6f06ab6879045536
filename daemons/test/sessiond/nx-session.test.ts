import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../../test/harness/index.js';
import { PW, startStack, type Stack } from './helpers.js';

const asRoot = process.getuid?.() === 0;
const BIN = path.join(REPO, 'cli/bin/nx-session');

describe.skipIf(!asRoot)('nx-session (built CLI against the real stack)', () => {
  let st: Stack;
  const nx = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [BIN, '--root', st.root.dir, ...args], { input: input ?? '', encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  beforeAll(async () => {
    st = await startStack();
  });
  afterAll(async () => {
    await st?.cleanup();
  });

  it('login, list, lock, wrong and right unlock, switch, logout with documented exit codes', () => {
    expect(nx(['--help']).code).toBe(0);
    expect(nx(['bogus']).code).toBe(64);
    expect(nx(['list']).out).toMatch(/no sessions/);
    expect(nx(['login', 'alice', '--password-stdin'], 'nope\n').code).toBe(2);
    const a = nx(['login', 'alice', '--password-stdin'], `${PW.alice}\n`);
    expect(a.code).toBe(0);
    const sidA = a.out.split('\t')[0]!;
    expect(a.out).toMatch(/alice\tuid=1000\tvt=4\tactive/);
    expect(nx(['lock']).code).toBe(0);
    expect(nx(['lock', sidA]).code).toBe(4);
    expect(nx(['unlock', sidA, '--password-stdin'], 'wrong\n').code).toBe(2);
    expect(nx(['unlock', 'nosuch', '--password-stdin'], 'x\n').code).toBe(3);
    expect(nx(['unlock', sidA, '--password-stdin'], `${PW.alice}\n`).code).toBe(0);
    const b = nx(['switch', 'bob', '--password-stdin'], `${PW.bob}\n`);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/bob\tuid=1001\tvt=5\tactive/);
    const listed = JSON.parse(nx(['list', '--json']).out) as Array<{ sid: string; state: string }>;
    expect(listed.find((s) => s.sid === sidA)?.state).toBe('locked');
    expect(nx(['switch', 'alice', '--password-stdin'], `${PW.alice}\n`).out).toMatch(/alice.*active/);
    expect(nx(['lock', '--all']).code).toBe(0);
    for (const s of listed) expect(nx(['logout', s.sid]).code).toBe(0);
    expect(nx(['logout', sidA]).code).toBe(3);
  });
});
