import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeRoot, REPO, type TestRoot } from '../../test/harness/index.js';
import { checkAccountFiles, startAuthd, type Authd } from '../../daemons/test/authd/helpers.js';

const BIN = path.join(REPO, 'cli/bin/nx-user');

function nx(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function nxAsync(args: string[], input: string): Promise<number | null> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    c.stdin.end(input);
    c.on('exit', (code) => resolve(code));
  });
}

let root: TestRoot | undefined;
let d: Authd | undefined;
afterEach(async () => {
  await d?.stop();
  d = undefined;
  root?.cleanup();
  root = undefined;
});

describe('nx-user', () => {
  it('--help and usage errors', () => {
    expect(nx(['--help'])).toMatchObject({ status: 0 });
    expect(nx(['--help']).stdout).toContain('Exit codes');
    expect(nx([]).status).toBe(2);
    expect(nx(['frobnicate']).status).toBe(2);
    expect(nx(['add']).status).toBe(2);
    expect(nx(['add', 'x', '--password', 'secret']).status).toBe(2); // no password on argv
  });

  it('without authd (as root): add, list, passwd, lock, unlock, del keep the files valid', async () => {
    root = await makeRoot();
    const r = root.dir;
    const add = nx(['--root', r, 'add', 'olga', '--full-name', 'Olga O', '--admin', '--password-stdin'], 'Olga-Password-1\n');
    expect(add.status, add.stderr).toBe(0);
    checkAccountFiles(r);
    expect(readFileSync(root.path('/etc/group'), 'utf8')).toMatch(/^sudo:x:27:olga$/m);
    expect(readFileSync(root.path('/etc/shadow'), 'utf8')).toMatch(/^olga:\$6\$rounds=/m);
    expect(nx(['--root', r, 'add', 'olga', '--password-stdin'], 'Olga-Password-1\n').status).toBe(4);
    expect(nx(['--root', r, 'add', 'Bad:Name', '--password-stdin'], 'Olga-Password-1\n').status).toBe(5);
    expect(nx(['--root', r, 'add', 'shorty', '--password-stdin'], 'short\n').status).toBe(5);
    const list = JSON.parse(nx(['--root', r, 'list', '--json']).stdout) as { users: Array<{ username: string; locked: boolean }> };
    expect(list.users).toEqual([expect.objectContaining({ username: 'olga', full_name: 'Olga O', uid: 1000, locked: false })]);
    expect(nx(['--root', r, 'passwd', 'olga', '--password-stdin'], 'Olga-Password-2\n').status).toBe(0);
    expect(nx(['--root', r, 'passwd', 'nobody-such', '--password-stdin'], 'Olga-Password-2\n').status).toBe(3);
    expect(nx(['--root', r, 'lock', 'olga']).status).toBe(0);
    expect(readFileSync(root.path('/etc/shadow'), 'utf8')).toMatch(/^olga:!\$6\$/m);
    expect(nx(['--root', r, 'list']).stdout).toMatch(/^olga\t1000\tlocked\tOlga O$/m);
    expect(nx(['--root', r, 'unlock', 'olga']).status).toBe(0);
    checkAccountFiles(r);
    // shadow-utils tools work on the result
    execFileSync('useradd', ['--root', r, '-m', 'zoe'], { stdio: 'pipe' });
    execFileSync('chpasswd', ['--root', r, '-c', 'SHA512'], { input: 'zoe:Zoe-Password-1\n', stdio: 'pipe' });
    expect(nx(['--root', r, 'list', '--json']).stdout).toContain('"zoe"');
    expect(nx(['--root', r, 'del', 'olga', '--remove-home']).status).toBe(0);
    expect(nx(['--root', r, 'del', 'olga']).status).toBe(3);
    checkAccountFiles(r);
    expect(readFileSync(root.path('/etc/passwd'), 'utf8')).not.toContain('olga');
  });

  it('parallel adds from several processes lose no entry', async () => {
    root = await makeRoot();
    const names = Array.from({ length: 8 }, (_, i) => `par${i}`);
    const codes = await Promise.all(names.map((n) => nxAsync(['--root', root!.dir, '--offline', 'add', n, '--password-stdin'], `${n}-Password-1\n`)));
    expect(codes).toEqual(names.map(() => 0));
    const passwd = readFileSync(root.path('/etc/passwd'), 'utf8');
    const shadow = readFileSync(root.path('/etc/shadow'), 'utf8');
    for (const n of names) {
      expect(passwd).toMatch(new RegExp(`^${n}:x:`, 'm'));
      expect(shadow).toMatch(new RegExp(`^${n}:\\$6\\$`, 'm'));
    }
    const uids = passwd.split('\n').filter((l) => l.startsWith('par')).map((l) => l.split(':')[2]);
    expect(new Set(uids).size).toBe(names.length);
    checkAccountFiles(root.dir);
  });

  it('talks to authd when it runs', async () => {
    d = await startAuthd([{ name: 'una', password: 'Una-Password-1' }]);
    const r = d.root.dir;
    const add = nx(['--root', r, 'add', 'vera', '--full-name', 'Vera V', '--password-stdin'], 'Vera-Password-1\n');
    expect(add.status, add.stderr).toBe(0);
    expect(nx(['--root', r, 'list']).stdout).toMatch(/^vera\t1001\tactive\tVera V$/m);
    expect(nx(['--root', r, 'passwd', 'vera', '--password-stdin'], 'Vera-Password-2\n').status).toBe(0);
    const c = await d.client();
    expect(await c.request({ type: 'authenticate', username: 'vera', password: 'Vera-Password-2', vt: 1, purpose: 'login' })).toMatchObject({ username: 'vera' });
    c.close();
    expect(nx(['--root', r, 'lock', 'vera']).status).toBe(0);
    expect(nx(['--root', r, 'del', 'vera']).status).toBe(0);
    expect(nx(['--root', r, 'del', 'vera']).status).toBe(3);
    expect(d.logs()).toContain('user deleted');
    checkAccountFiles(r);
  });
});
