import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dirToken, dirWatchAvailable, drainDirWatch, peekDirToken, presenceToken } from './dir-watch.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rb-dirwatch-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sh = (script: string) => {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
};

describe('directory change tokens (inotify, read synchronously)', () => {
  it('is available on this machine (Linux, libc through koffi)', () => {
    expect(dirWatchAvailable()).toBe(true);
  });

  it('stays equal while nothing changes and moves on with every kind of change', () => {
    writeFileSync(path.join(dir, 'passwd'), 'a\n');
    const changes: Array<[string, () => void]> = [
      ['create', () => writeFileSync(path.join(dir, 'new'), 'x')],
      ['in-place write', () => writeFileSync(path.join(dir, 'passwd'), 'b\n')],
      ['chmod', () => chmodSync(path.join(dir, 'passwd'), 0o600)],
      ['rename into', () => (writeFileSync(path.join(dir, 'tmp'), 'c\n'), renameSync(path.join(dir, 'tmp'), path.join(dir, 'passwd')))],
      ['unlink', () => rmSync(path.join(dir, 'new'))],
      ['mkdir', () => mkdirSync(path.join(dir, 'sub'))],
      ['symlink', () => symlinkSync('/nowhere', path.join(dir, 'link'))],
    ];
    let t = dirToken(dir, true);
    expect(t).not.toBeNull();
    for (const [what, change] of changes) {
      expect(dirToken(dir, true), `before ${what}`).toBe(t);
      change();
      const next = dirToken(dir, true);
      expect(next, what).not.toBe(t);
      t = next;
    }
    // Changes inside a subdirectory are not changes of this directory's entries.
    writeFileSync(path.join(dir, 'sub', 'deep'), 'x');
    expect(dirToken(dir, true)).toBe(t);
  });

  it('sees what another process changed before the call, every time', () => {
    const file = path.join(dir, 'shadow');
    writeFileSync(file, 'aaaa\n');
    let t = dirToken(dir, true);
    for (let i = 0; i < 100; i++) {
      // Same size, same second: nothing a stat-based identity could rely on.
      sh(`printf '%s\\n' ${i % 2 ? 'aaaa' : 'bbbb'} > '${file}'`);
      const next = dirToken(dir, true);
      expect(next, `round ${i}`).not.toBe(t);
      t = next;
    }
  });

  it('a directory replaced by another one at the same path gets a new token, and changes in the new one are seen', () => {
    const d = path.join(dir, 'home');
    mkdirSync(d);
    const t1 = dirToken(d, true);
    renameSync(d, path.join(dir, 'old-home'));
    mkdirSync(d);
    const t2 = dirToken(d, true);
    expect(t2).not.toBeNull();
    expect(t2).not.toBe(t1);
    expect(dirToken(d, true)).toBe(t2);
    writeFileSync(path.join(d, '.face'), 'x');
    expect(dirToken(d, true)).not.toBe(t2);
    // The old directory's events are not attributed to the path any more.
    const t3 = dirToken(d, true);
    writeFileSync(path.join(dir, 'old-home', 'x'), 'x');
    expect(dirToken(d, true)).toBe(t3);
  });

  it('untrusted filesystems and unwatchable paths get no token', () => {
    expect(dirToken(dir, false)).toBeNull();
    expect(dirToken(path.join(dir, 'missing'), true)).toBeNull();
    writeFileSync(path.join(dir, 'file'), 'x');
    expect(dirToken(path.join(dir, 'file'), true)).toBeNull();
  });

  it('presenceToken: a missing directory depends on its nearest existing ancestor; untrusted ones get none', async () => {
    const trusted = () => Promise.resolve(true);
    const icons = path.join(dir, 'var/lib/AccountsService/icons');
    const p1 = await presenceToken(icons, trusted);
    expect(p1?.dir).toBe(dir);
    expect(await presenceToken(icons, trusted)).toEqual(p1);
    writeFileSync(path.join(dir, 'unrelated'), 'x');
    drainDirWatch();
    const p2 = await presenceToken(icons, trusted);
    expect(p2?.token).not.toBe(p1?.token); // any change in the ancestor counts (conservative)
    mkdirSync(icons, { recursive: true });
    const p3 = await presenceToken(icons, trusted);
    expect(p3?.dir).toBe(icons);
    // A file where the directory should be, or a filesystem not trusted: no token at all.
    writeFileSync(path.join(dir, 'notadir'), 'x');
    expect(await presenceToken(path.join(dir, 'notadir', 'x'), trusted)).toBeNull();
    expect(await presenceToken(icons, () => Promise.resolve(false))).toBeNull();
    expect(await presenceToken(path.join(dir, 'missing'), () => Promise.resolve(false))).toBeNull();
  });

  it('peekDirToken never adds a watch; it reads the token of a watched directory', () => {
    const d = path.join(dir, 'peek');
    mkdirSync(d);
    expect(peekDirToken(d)).toBeNull();
    const t = dirToken(d, true);
    expect(peekDirToken(d)).toBe(t);
    writeFileSync(path.join(d, 'x'), 'x');
    drainDirWatch();
    expect(peekDirToken(d)).not.toBe(t);
  });

  it('without inotify (REDBEAR_NO_INOTIFY=1) every token is null', async () => {
    vi.resetModules();
    vi.stubEnv('REDBEAR_NO_INOTIFY', '1');
    try {
      const fresh = await import('./dir-watch.js');
      expect(fresh.dirWatchAvailable()).toBe(false);
      expect(fresh.dirToken(dir, true)).toBeNull();
      expect(await fresh.presenceToken(dir, () => Promise.resolve(true))).toBeNull();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
