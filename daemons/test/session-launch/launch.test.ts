import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../../../test/harness/index.js';
import { groupsFor, parseSpec, sessionArgv, sessionEnv, type Spec } from '../../src/session-launch/launch.js';

const spec = (over: Partial<Spec> = {}): Spec => ({
  sid: 'abc', uid: 1000, gid: 1000, username: 'alice', home: '/home/alice', shell: '/bin/bash', vt: 4, seat: 'seat0',
  group_file: '/etc/group', runtime_dir: '/run/user/1000', log_file: '/var/log/x.log', command: ['redbear-kde-session'],
  dbus_run_session: '/usr/bin/dbus-run-session', validation: false, validation_timeout_ms: 1000, ...over,
});

describe('redbear-session-launch units', () => {
  it('supplementary groups come from the group file member lists, primary gid first, no duplicates', () => {
    const text = 'root:x:0:\nvideo:x:44:bob,alice\naudio:x:29:alice\nalice:x:1000:alice\nbad:line\nusers:x:100:alicex\n';
    expect(groupsFor(text, 'alice', 1000)).toEqual([1000, 44, 29]);
    expect(groupsFor(text, 'carol', 1002)).toEqual([1002]);
  });
  it('the environment is exactly the seed’s list plus XDG_SESSION_CLASS', () => {
    expect(Object.keys(sessionEnv(spec())).sort()).toEqual(
      ['HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'XDG_RUNTIME_DIR', 'XDG_SESSION_TYPE', 'XDG_CURRENT_DESKTOP', 'XDG_SESSION_ID', 'KDE_FULL_SESSION', 'WAYLAND_DISPLAY', 'XDG_SEAT', 'XDG_VTNR', 'LIBSEAT_BACKEND', 'SEATD_SOCK', 'XDG_SESSION_CLASS'].sort(),
    );
    expect(sessionEnv(spec())).toMatchObject({ PATH: '/usr/bin:/bin', XDG_SESSION_ID: 'abc', XDG_VTNR: '4', XDG_SESSION_CLASS: 'user' });
  });
  it('runs under dbus-run-session when present, directly (with a note) when missing', () => {
    const notes: string[] = [];
    expect(sessionArgv(spec({ dbus_run_session: '/bin/sh' }), (n) => notes.push(n))).toEqual(['/bin/sh', '--', 'redbear-kde-session']);
    expect(sessionArgv(spec({ dbus_run_session: '/nonexistent/dbus-run-session' }), (n) => notes.push(n))).toEqual(['redbear-kde-session']);
    expect(notes.join('\n')).toMatch(/not found at \/nonexistent\/dbus-run-session: running the session command directly/);
    expect(sessionArgv(spec({ validation: true, dbus_run_session: null }), () => undefined)[1]).toMatch(/validation-session\.js$/);
  });
  it('rejects a malformed spec with exit code 64', () => {
    expect(() => parseSpec('{')).toThrow(/not JSON/);
    expect(() => parseSpec(JSON.stringify({ ...spec(), extra: 1 }))).toThrow(/bad spec/);
    expect(() => parseSpec(JSON.stringify({ ...spec(), command: [] }))).toThrow(/bad spec/);
  });
  it.skipIf(process.getuid?.() !== 0)('refuses uid 0 and reports the failure on fd 3', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-launch-'));
    try {
      const main = path.join(REPO, 'daemons/dist/session-launch/main.js');
      const s = spec({ uid: 0, gid: 0, runtime_dir: path.join(dir, 'run/user/0'), log_file: path.join(dir, 'log/s.log'), group_file: '/etc/group', home: dir });
      const r = spawnSync(process.execPath, [main], { input: JSON.stringify(s), stdio: ['pipe', 'pipe', 'pipe', 'pipe'], encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(String(r.output[3])).toMatch(/refusing to start a session as root/);
      expect(statSync(path.join(dir, 'log/s.log')).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(dir, 'log/s.log'), 'utf8')).toMatch(/refusing/);
      void execFileSync;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
