import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../test/harness/index.js';

/**
 * redbear-selftest against a stack it starts itself (as root, like CI): every required marker
 * from real flows, and no `ok` marker when a flow is really broken in the stack.
 */
const BIN = path.join(REPO, 'cli/bin/redbear-selftest');
const built = existsSync(path.join(REPO, 'cli/dist/selftest/main.js')) && ['keystored', 'authd', 'sessiond', 'greeterd'].every((d) => existsSync(path.join(REPO, 'daemons/dist', d, 'main.js')));
const isRoot = process.getuid?.() === 0;

function selftest(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // cwd / : nothing may depend on the caller's directory.
    const c = spawn(process.execPath, [BIN, ...args], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const markers = (out: string) => out.split('\n').filter((l) => l.startsWith('SELFTEST: '));
const OK = ['SELFTEST: oobe create+login ok', 'SELFTEST: session lock+unlock ok', 'SELFTEST: session switch ok'];
const leftoverRoots = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('redbear-selftest-')));

describe('redbear-selftest usage', () => {
  it.skipIf(!built)('--help, usage errors', async () => {
    const h = await selftest(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('SELFTEST: securefs home SKIPPED');
    expect((await selftest(['--bogus'])).code).toBe(64);
    expect((await selftest(['--root', '/tmp', '--start-stack'])).code).toBe(64);
    expect((await selftest(['--stack-set', 'authd.throttle.max_failures=1'])).code).toBe(64);
    expect((await selftest(['--start-stack', '--stack-set', 'nosuchd.x=1'])).code).toBe(64);
  });

  it.skipIf(!built)('a root without a stack: FAILED, exit 69, no ok marker', async () => {
    const r = await selftest(['--root', path.join(tmpdir(), 'redbear-selftest-no-such-root')]);
    expect(r.code).toBe(69);
    expect(r.stdout).toMatch(/^SELFTEST: stack FAILED \(cannot reach \/run\/redbear-greeterd\.sock/m);
    expect(r.stdout).not.toMatch(/ ok$/m);
  });
});

describe.skipIf(!built || !isRoot)('redbear-selftest --start-stack (as root)', () => {
  it('prints every required marker from real flows, the securefs line per its gating, and exits 0', async () => {
    const before = leftoverRoots();
    const r = await selftest(['--start-stack']);
    const m = markers(r.stdout);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const ok of OK) expect(m).toContain(ok);
    const sfs = m.filter((l) => l.startsWith('SELFTEST: securefs home'));
    expect(sfs).toHaveLength(1);
    // sessiond mounts the home with FUSE (as root, /dev/fuse present): the round trip runs for real.
    expect(sfs[0]).toBe('SELFTEST: securefs home ok');
    expect(r.stdout).toMatch(/selftest: securefs: wrote and read back \d+ bytes through \S+; \d+ store files under \/state\/secure\/home\/1000\/ contain no plaintext/);
    expect(m.filter((l) => l.includes('FAILED'))).toEqual([]);
    // The markers come in the seed's order, after the evidence lines.
    expect(m.slice(0, 3)).toEqual(OK);
    expect(r.stdout).toMatch(/selftest: oobe: session \S+ active on VT 3, leader pid \d+ uid 1000, command pid \d+ \(\w+\) uid 1000, record: uid=1000/);
    // Its temporary root is gone afterwards.
    expect([...leftoverRoots()].filter((f) => !before.has(f))).toEqual([]);
  }, 120_000);

  it('--json gives the same results as one document', async () => {
    const r = await selftest(['--start-stack', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; results: Array<{ flow: string; status: string; line: string }> };
    expect(doc.ok).toBe(true);
    expect(doc.results.map((x) => [x.flow, x.status])).toEqual([
      ['oobe', 'ok'],
      ['lock', 'ok'],
      ['switch', 'ok'],
      ['securefs', 'ok'],
    ]);
  }, 120_000);

  it('without a mounted home the securefs line is an explicit SKIPPED, never ok', async () => {
    const r = await selftest(['--start-stack', '--stack-set', 'sessiond.home.mount="none"']);
    const m = markers(r.stdout);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(m).not.toContain('SELFTEST: securefs home ok');
    expect(m).toContain('SELFTEST: securefs home SKIPPED (home not mounted: SecureFS is open inside sessiond but no FUSE mount is configured)');
  }, 120_000);

  it('a session command that exits at once: no oobe ok marker, FAILED lines, non-zero exit', async () => {
    const r = await selftest(['--start-stack', '--stack-set', 'sessiond.session.command=["/bin/sh","-c","exit 0"]']);
    const m = markers(r.stdout);
    expect(r.code).toBe(1);
    expect(m).not.toContain('SELFTEST: oobe create+login ok');
    expect(m.some((l) => l.startsWith('SELFTEST: oobe create+login FAILED ('))).toBe(true);
    // Nothing downstream claims success either.
    expect(m.filter((l) => / ok( \(|$)/.test(l))).toEqual([]);
  }, 120_000);

  it('a session command that does not exist: no oobe ok marker', async () => {
    const r = await selftest(['--start-stack', '--stack-set', 'sessiond.session.command=["/nonexistent/redbear-kde-session"]']);
    expect(r.code).toBe(1);
    expect(markers(r.stdout)).not.toContain('SELFTEST: oobe create+login ok');
    expect(r.stdout).toMatch(/^SELFTEST: oobe create\+login FAILED \(.+\)$/m);
  }, 120_000);

  it('unlock made impossible (authd locks the account out after one wrong secret): no lock ok marker', async () => {
    const r = await selftest(['--start-stack', '--stack-set', 'authd.throttle.max_failures=1']);
    const m = markers(r.stdout);
    expect(r.code).toBe(1);
    // The login itself still works and says so…
    expect(m).toContain('SELFTEST: oobe create+login ok');
    // …but the unlock cannot succeed, and the marker is not printed.
    expect(m).not.toContain('SELFTEST: session lock+unlock ok');
    expect(m.find((l) => l.startsWith('SELFTEST: session lock+unlock FAILED ('))).toMatch(/rate_limited/);
    expect(m).not.toContain('SELFTEST: session switch ok');
  }, 120_000);

  it('the keystore domain kept open while locked (keep_open policy): the lock flow fails', async () => {
    const r = await selftest(['--start-stack', '--stack-set', 'sessiond.lock.policy="keep_open"']);
    const m = markers(r.stdout);
    expect(r.code).toBe(1);
    expect(m).not.toContain('SELFTEST: session lock+unlock ok');
    expect(m.find((l) => l.startsWith('SELFTEST: session lock+unlock FAILED ('))).toMatch(/keystored reports the domain of uid 1000 unlocked/);
  }, 120_000);
});
