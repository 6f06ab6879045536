import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAccountFile } from './account-file.js';
import { ACCOUNT_FILES } from './paths.js';
import { listUsers } from './query.js';
import { buildForChildren, hasTool, makeRoot, removeRoot, run } from './test-fixtures.js';
import { addUser } from './users.js';

let build: { dir: string; index: string };
beforeAll(async () => {
  build = await buildForChildren();
});
afterAll(() => rmSync(build.dir, { recursive: true, force: true }));

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

function worker(args: string[]): ChildProcess {
  return spawn(process.execPath, [path.join(build.dir, 'worker.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function waitForOutput(c: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    c.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) resolve();
    });
    c.once('exit', () => (buf.includes(text) ? resolve() : reject(new Error(`worker exited before "${text}"`))));
  });
}

describe('concurrent writers', () => {
  it('8 processes adding users in parallel lose no entry', async () => {
    const root = makeRoot();
    try {
      const N = 8;
      const PER = 4;
      const kids = Array.from({ length: N }, (_, i) => worker(['add', root, `w${i}u`, String(PER)]));
      const stderr: string[] = [];
      for (const k of kids) k.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      const codes = await Promise.all(kids.map(exited));
      expect(stderr.join('')).toBe('');
      expect(codes).toEqual(Array(N).fill(0));
      const users = (await listUsers(root)).filter((u) => u.passwd.uid >= 1000 && u.passwd.uid < 60000);
      expect(users.length).toBe(N * PER);
      expect(new Set(users.map((u) => u.passwd.uid)).size).toBe(N * PER);
      for (const u of users) expect(u.shadow).toBeDefined();
      for (const f of ACCOUNT_FILES) expect(parseAccountFile(f, readFileSync(path.join(root, 'etc', f))).problems).toEqual([]);
      if (hasTool('pwck')) {
        const p = run('pwck', ['-r', '-R', root]);
        expect(p.stdout + p.stderr).toBe('');
        expect(p.status).toBe(0);
        const g = run('grpck', ['-r', '-R', root]);
        expect(g.stdout + g.stderr).toBe('');
        expect(g.status).toBe(0);
      }
    } finally {
      removeRoot(root);
    }
  }, 120_000);
});

describe('crash safety', () => {
  it('200 kill -9 at random moments leave parseable, untorn files and recoverable locks', async () => {
    const root = makeRoot();
    const KILLS = 200;
    const systemNames = new Set(['root', 'daemon', 'bin', 'sys', 'nobody', 'sudo', 'shadow', 'users', 'nogroup']);
    const knownHashes = new Set(['$6$aaaa$' + 'a'.repeat(20), '$6$bbbb$' + 'b'.repeat(20), '$6$cccc$' + 'c'.repeat(20), '*']);
    let staleSeen = 0;
    try {
      for (let k = 0; k < KILLS; k++) {
        const child = worker(['loop', root, `k${k}x`]);
        await waitForOutput(child, 'ready');
        // Every 8th victim first commits one user (so the run always makes progress, however
        // loaded the machine); then it dies at a random moment like the others.
        if (k % 8 === 0) await waitForOutput(child, 'added');
        await new Promise((r) => setTimeout(r, Math.random() * 30));
        child.kill('SIGKILL');
        await exited(child);
        // Every file parses with no problems; each line is a complete old-or-new entry.
        for (const f of ACCOUNT_FILES) {
          const parsed = parseAccountFile(f, readFileSync(path.join(root, 'etc', f)));
          expect(parsed.problems, `${f} after kill ${k}`).toEqual([]);
          for (const e of parsed.entries) expect(systemNames.has(e.name) || /^k\d+x\d+$/.test(e.name), `${f}: ${e.name}`).toBe(true);
          if (f === 'shadow') for (const e of parsed.entries as { hash: string }[]) expect(knownHashes.has(e.hash.replace(/^!/, ''))).toBe(true);
        }
        if (readdirSync(path.join(root, 'etc')).some((n) => n.endsWith('.lock') && n !== '.pwd.lock')) staleSeen++;
      }
      // The next writer recovers any stale lock left by the last victim.
      await addUser(root, { username: 'survivor', fullName: '', hash: '$6$s$t' }, { lockTimeoutMs: 5_000, createHome: false });
      expect(readdirSync(path.join(root, 'etc')).filter((n) => (n.endsWith('.lock') && n !== '.pwd.lock') || /^(passwd|shadow|group|gshadow)\.\d+$/.test(n))).toEqual([]);
      const names = (await listUsers(root)).map((u) => u.passwd.name);
      expect(names).toContain('survivor');
      expect(names.filter((n) => n.startsWith('k')).length).toBeGreaterThan(0);
      console.log(`crash test: ${names.length} users, stale lock files observed after ${staleSeen}/${KILLS} kills`);
    } finally {
      removeRoot(root);
    }
  }, 300_000);
});
