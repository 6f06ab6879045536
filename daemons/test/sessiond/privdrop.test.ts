import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gidOfGroup, readEnv, readRecord, startStack, uidOf, waitFor, type Stack } from './helpers.js';

const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)('redbear-session-launch: real privilege drop through sessiond (real authd + keystored)', () => {
  let st: Stack;
  beforeAll(async () => {
    st = await startStack();
  });
  afterAll(async () => {
    await st?.cleanup();
  });

  it('runs the session command as the user with exactly the groups of the root’s /etc/group, the seed’s environment, cwd, umask and runtime dir', async () => {
    const c = await st.client();
    const approval = await st.approve('alice', 4);
    const r = await c.request({ type: 'create_session', approval, vt: 4 }, 20_000);
    const session = r.session as Record<string, unknown>;
    expect(session.state).toBe('active');
    const uid = uidOf(st.root.dir, 'alice');
    const home = st.root.path('/home/alice');
    const rec = await waitFor(() => readRecord(home), 10_000, 'session record');
    const groups = ['video', 'audio', 'input'].map((g) => gidOfGroup(st.root.dir, g));
    expect(rec.uid).toBe(String(uid));
    expect(rec.gid).toBe(String(uid));
    expect(rec.groups!.split(' ').map(Number).sort((a, b) => a - b)).toEqual([uid, ...groups].sort((a, b) => a - b));
    expect(rec.cwd).toBe(home);
    expect(rec.umask).toBe('0022');
    const runtimeDir = st.root.path(`/run/user/${uid}`);
    expect(rec.rundir).toBe(`700 ${uid}`);
    expect(readEnv(home)).toEqual({
      HOME: home,
      USER: 'alice',
      LOGNAME: 'alice',
      SHELL: '/bin/bash',
      PATH: '/usr/bin:/bin',
      XDG_RUNTIME_DIR: runtimeDir,
      XDG_SESSION_TYPE: 'wayland',
      XDG_CURRENT_DESKTOP: 'KDE',
      XDG_SESSION_ID: session.sid,
      XDG_SESSION_CLASS: 'user',
      KDE_FULL_SESSION: 'true',
      WAYLAND_DISPLAY: 'wayland-0',
      XDG_SEAT: 'seat0',
      XDG_VTNR: '4',
      LIBSEAT_BACKEND: 'seatd',
      SEATD_SOCK: '/run/seatd.sock',
    });
    // The leader is redbear-session-launch, which no longer is root either.
    const status = readFileSync(`/proc/${session.leader_pid as number}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
    // The per-session log belongs to the user and says dbus-run-session was not used.
    const log = path.join(st.root.dir, `var/log/redbear/sessions/alice-${session.sid as string}.log`);
    expect(statSync(log).uid).toBe(uid);
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(readFileSync(log, 'utf8')).toMatch(/running the session command directly/);
    // The home is the user's SecureFS store, opened with keys from keystored.
    expect(session.home_uri).toBe(`state:/secure/home/${uid}/`);
    expect(existsSync(st.root.path(`/state/secure/home/${uid}/sfs.conf`))).toBe(true);
    const home2 = await c.request({ type: 'current_home' });
    expect(home2.home).toMatchObject({ uid, uri: `state:/secure/home/${uid}/`, open: true });
    await c.request({ type: 'logout', sid: session.sid }, 20_000);
    expect(existsSync(runtimeDir)).toBe(false);
    c.close();
  });
});

describe.skipIf(!asRoot || !existsSync('/usr/bin/dbus-run-session'))('session under dbus-run-session', () => {
  let st: Stack;
  beforeAll(async () => {
    // dbus-daemon looks the uid up in the host's passwd database, so this user shares the host's nobody uid.
    st = await startStack({ dbus: '/usr/bin/dbus-run-session', users: [{ name: 'dbususer', password: 'dbus-Secret-42', uid: 65534 }] });
  });
  afterAll(async () => {
    await st?.cleanup();
  });
  it('adds only DBUS_SESSION_BUS_ADDRESS (set by dbus-run-session) to the environment', async () => {
    const c = await st.client();
    const r = await c.request({ type: 'create_session', approval: await st.approve('dbususer', 4, 'login', 'dbus-Secret-42'), vt: 4 }, 20_000);
    const home = st.root.path('/home/dbususer');
    const rec = await waitFor(() => readRecord(home), 10_000, 'session record');
    expect(rec.uid).toBe('65534');
    const env = readEnv(home);
    expect(env.DBUS_SESSION_BUS_ADDRESS).toMatch(/^unix:/);
    expect(Object.keys(env).sort()).toEqual(
      ['DBUS_SESSION_BUS_ADDRESS', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'XDG_RUNTIME_DIR', 'XDG_SESSION_TYPE', 'XDG_CURRENT_DESKTOP', 'XDG_SESSION_ID', 'XDG_SESSION_CLASS', 'KDE_FULL_SESSION', 'WAYLAND_DISPLAY', 'XDG_SEAT', 'XDG_VTNR', 'LIBSEAT_BACKEND', 'SEATD_SOCK'].sort(),
    );
    await c.request({ type: 'logout', sid: (r.session as { sid: string }).sid }, 20_000);
    c.close();
  });
});
