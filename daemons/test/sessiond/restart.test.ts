import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeystoreClient } from '../../src/lib/keystore-client/index.js';
import { ProtocolError } from '../../../protocol/src/common/index.js';
import { REPO } from '../../../test/harness/index.js';
import { alive, killGroup, leaderPids, startStack, uidOf, waitFor, type Stack } from './helpers.js';

const asRoot = process.getuid?.() === 0;

/**
 * Killing sessiond (SIGKILL) in every session state and starting it again never leaves a
 * session unlocked, a keystore domain open or a runtime dir behind once its session is gone.
 */
describe.skipIf(!asRoot)('sessiond restart safety (real keystored, real authd when it starts)', () => {
  let st: Stack;
  let ks: KeystoreClient;
  let alice: number;
  const wrapper = path.join(process.env.TMPDIR ?? '/tmp', `slow-launcher-${process.pid}.sh`);
  const slowFlag = () => `${wrapper}.slow`;

  beforeAll(async () => {
    // A launcher wrapper that can be made slow, to kill sessiond while a session is opening.
    writeFileSync(wrapper, `#!/bin/sh\n[ -e "${slowFlag()}" ] && sleep 2\nexec "${process.execPath}" "${path.join(REPO, 'daemons/dist/session-launch/main.js')}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    st = await startStack({ launcher: [wrapper] });
    ks = new KeystoreClient({ socketPath: st.root.path('/run/redbear-keystored.sock') });
    alice = uidOf(st.root.dir, 'alice');
  });
  afterAll(async () => {
    ks?.close();
    await st?.cleanup();
    (await import('node:fs')).rmSync(wrapper, { force: true });
  });

  const login = async (vt = 4) => {
    const c = await st.client();
    try {
      return (await c.request({ type: 'create_session', approval: await st.approve('alice', vt), vt }, 20_000)).session as { sid: string; leader_pid: number };
    } finally {
      c.close();
    }
  };
  const get = async (sid: string) => {
    const c = await st.client();
    try {
      return (await c.request({ type: 'get_session', sid })).session as Record<string, unknown>;
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'not_found') return null;
      throw e;
    } finally {
      c.close();
    }
  };
  const logout = async (sid: string) => {
    const c = await st.client();
    await c.request({ type: 'logout', sid }, 20_000);
    c.close();
  };
  const runtime = () => st.root.path(`/run/user/${alice}`);

  it('active: re-adopted still active, home reopened through the persisted keystore token', async () => {
    const s = await login();
    await st.restartSessiond(true);
    expect((await get(s.sid))?.state).toBe('active');
    const c = await st.client();
    expect((await c.request({ type: 'current_home' })).home).toMatchObject({ uid: alice, open: true });
    c.close();
    expect((await ks.status(alice)).unlocked).toBe(true);
    await logout(s.sid);
    expect(existsSync(runtime())).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
  });

  it('locked: stays locked across a restart; only a fresh approval unlocks it', async () => {
    const s = await login();
    const c = await st.client();
    await c.request({ type: 'lock', sid: s.sid });
    c.close();
    await st.restartSessiond(true);
    expect((await get(s.sid))?.state).toBe('locked');
    expect((await ks.status(alice)).unlocked).toBe(false);
    // A graceful restart keeps it locked too.
    await st.restartSessiond(false);
    expect((await get(s.sid))?.state).toBe('locked');
    const c2 = await st.client();
    expect((await c2.request({ type: 'current_home' })).home).toBeNull();
    await c2.request({ type: 'unlock', sid: s.sid, approval: await st.approve('alice', 4, 'unlock') }, 20_000);
    expect((await get(s.sid))?.state).toBe('active');
    c2.close();
    await logout(s.sid);
  });

  it('leader died while sessiond was down: cleaned up on start', async () => {
    const s = await login();
    await st.killSessiond();
    killGroup(s.leader_pid);
    await waitFor(() => !alive(s.leader_pid), 5000, 'leader gone');
    await st.startSessiond();
    expect(await get(s.sid)).toBeNull();
    expect(existsSync(runtime())).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
  });

  it('leader dies after a restart: the re-adopted session is noticed and cleaned up', async () => {
    const s = await login();
    await st.restartSessiond(true);
    killGroup(s.leader_pid);
    await waitFor(async () => (await get(s.sid)) === null, 5000, 'session gone');
    expect(existsSync(runtime())).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
  });

  it('closing: a leader that ignores SIGTERM is killed and cleaned up after a restart', async () => {
    const s = await login();
    // Make the running session ignore SIGTERM: replace it with one that does.
    const c = await st.client();
    const pids = leaderPids(st.root.dir);
    expect(pids).toContain(s.leader_pid);
    // Stop the group from reacting to TERM by stopping it (SIGSTOP); logout then waits in closing.
    process.kill(-s.leader_pid, 'SIGSTOP');
    const pending = c.request({ type: 'logout', sid: s.sid }, 20_000).catch(() => undefined);
    const state = path.join(st.root.dir, 'run/redbear-sessiond/sessions.json');
    await waitFor(() => /"state": "closing"/.test(readFileSync(state, 'utf8')), 5000, 'closing persisted');
    await st.killSessiond();
    c.close();
    await pending;
    expect(alive(s.leader_pid)).toBe(true);
    await st.startSessiond();
    await waitFor(() => !alive(s.leader_pid), 5000, 'leader killed');
    expect(await get(s.sid)).toBeNull();
    expect(existsSync(runtime())).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
  });

  it('opening: a session that was still starting is killed on restart, never left running', async () => {
    writeFileSync(slowFlag(), '');
    const state = path.join(st.root.dir, 'run/redbear-sessiond/sessions.json');
    const p = login().catch((e: unknown) => e);
    try {
      await waitFor(() => existsSync(state) && /"state": "opening"/.test(readFileSync(state, 'utf8')) && leaderPids(st.root.dir).length > 0, 10_000, 'opening').catch((e: Error) => {
        console.log('DBG', existsSync(state) && readFileSync(state, 'utf8'), st.sessiondLogs().slice(-3000));
        throw e;
      });
      const [pid] = leaderPids(st.root.dir);
      await st.killSessiond();
      await p;
      await st.startSessiond();
      await waitFor(() => !alive(pid!), 8000, 'launcher killed');
      const c = await st.client();
      expect((await c.request({ type: 'list_sessions' })).sessions).toEqual([]);
      c.close();
      // Give an escaped launcher time to have started the command: it must not have.
      await new Promise((r) => setTimeout(r, 2500));
      expect(existsSync(runtime())).toBe(false);
      expect((await ks.status(alice)).unlocked).toBe(false);
    } finally {
      (await import('node:fs')).rmSync(slowFlag(), { force: true });
    }
  });
});
