import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeystoreClient } from '../../src/lib/keystore-client/index.js';
import type { ProtocolClient } from '../../../protocol/src/node/index.js';
import { ProtocolError, type Message } from '../../../protocol/src/common/index.js';
import { REPO } from '../../../test/harness/index.js';
import { alive, collect, keysUsable, killGroup, startStack, uidOf, waitFor, type Stack } from './helpers.js';

const asRoot = process.getuid?.() === 0;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : String(e);
  }
}

describe.skipIf(!asRoot)('sessiond lifecycle (real keystored, real authd when it starts)', () => {
  let st: Stack;
  let c: ProtocolClient;
  let ev: ProtocolClient;
  let events: Message[];
  let ks: KeystoreClient;
  let alice: number;

  beforeAll(async () => {
    st = await startStack();
    c = await st.client();
    ev = await st.client();
    await ev.subscribe(['session', 'lock', 'session_ended', 'home']);
    events = collect(ev);
    ks = new KeystoreClient({ socketPath: st.root.path('/run/redbear-keystored.sock') });
    alice = uidOf(st.root.dir, 'alice');
  });
  afterEach(async () => {
    // Every test ends with an empty seat.
    const l = await c.request({ type: 'list_sessions' });
    for (const s of l.sessions as Array<{ sid: string }>) await c.request({ type: 'logout', sid: s.sid }, 20_000);
    events.length = 0;
  });
  afterAll(async () => {
    c?.close();
    ev?.close();
    ks?.close();
    await st?.cleanup();
  });

  const login = async (user: string, vt: number) => (await c.request({ type: 'create_session', approval: await st.approve(user, vt), vt }, 20_000)).session as Record<string, unknown> & { sid: string; leader_pid: number };

  it('login → lock → wrong unlock refused → right unlock → logout → runtime dir removed', async () => {
    const s = await login('alice', 4);
    const runtime = st.root.path(`/run/user/${alice}`);
    expect(existsSync(runtime)).toBe(true);
    expect((await ks.status(alice)).unlocked).toBe(true);

    const locked = (await c.request({ type: 'lock', sid: s.sid })).session as Record<string, unknown>;
    expect(locked.state).toBe('locked');
    expect(locked.locked_at_ms).toEqual(expect.any(Number));
    await waitFor(() => events.find((e) => e.event === 'lock'), 5000, 'lock event');
    expect(events.find((e) => e.event === 'home' && e.open === false)).toBeTruthy();
    expect((await ks.status(alice)).unlocked).toBe(false);
    expect(await keysUsable(st.root.dir, ks, s.sid)).toBe(false);
    expect((await c.request({ type: 'current_home' })).home).toBeNull();

    // Wrong password: authd refuses, no approval exists.
    expect(await code(st.approve('alice', 4, 'unlock', 'wrong-password'))).toBe('auth_failed');
    // Another user's approval, a login approval, a reused approval, an approval for another VT: refused.
    expect(await code(c.request({ type: 'unlock', sid: s.sid, approval: await st.approve('bob', 4, 'unlock') }))).toBe('approval_invalid');
    expect(await code(c.request({ type: 'unlock', sid: s.sid, approval: await st.approve('alice', 4, 'login') }))).toBe('approval_invalid');
    expect(await code(c.request({ type: 'unlock', sid: s.sid, approval: await st.approve('alice', 5, 'unlock') }))).toBe('approval_invalid');
    expect(await code(c.request({ type: 'unlock', sid: s.sid, approval: 'not-an-approval' }))).toBe('approval_invalid');
    expect(((await c.request({ type: 'get_session', sid: s.sid })).session as Record<string, unknown>).state).toBe('locked');

    const good = await st.approve('alice', 4, 'unlock');
    const un = (await c.request({ type: 'unlock', sid: s.sid, approval: good }, 20_000)).session as Record<string, unknown>;
    expect(un.state).toBe('active');
    expect(await code(c.request({ type: 'unlock', sid: s.sid, approval: good }))).toBe('invalid_state');
    expect((await c.request({ type: 'current_home' })).home).toMatchObject({ uid: alice, open: true });
    expect((await ks.status(alice)).unlocked).toBe(true);

    const out = await c.request({ type: 'logout', sid: s.sid }, 20_000);
    expect(out.sid).toBe(s.sid);
    const ended = await waitFor(() => events.find((e) => e.event === 'session_ended'), 5000, 'session_ended');
    expect(ended).toMatchObject({ sid: s.sid, uid: alice, reason: 'logout' });
    expect(existsSync(runtime)).toBe(false);
    expect(alive(s.leader_pid)).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
    expect((await c.request({ type: 'list_sessions' })).sessions).toEqual([]);
    expect(await code(c.request({ type: 'get_session', sid: s.sid }))).toBe('not_found');
  });

  it('fast user switch: a second login locks the first; the first stays locked until its own user unlocks it', async () => {
    const a = await login('alice', 4);
    const b = await login('bob', 5);
    const list = (await c.request({ type: 'list_sessions' })).sessions as Array<Record<string, unknown>>;
    expect(list.find((x) => x.sid === a.sid)?.state).toBe('locked');
    expect(list.find((x) => x.sid === b.sid)?.state).toBe('active');
    expect(await keysUsable(st.root.dir, ks, a.sid)).toBe(false);
    expect(await keysUsable(st.root.dir, ks, b.sid)).toBe(true);
    expect(((await c.request({ type: 'current_session' })).session as Record<string, unknown>).sid).toBe(b.sid);
    // unlock while another session is active is refused; activate switches.
    expect(await code(c.request({ type: 'unlock', sid: a.sid, approval: await st.approve('alice', 4, 'unlock') }))).toBe('invalid_state');
    expect(await code(c.request({ type: 'activate', sid: a.sid, approval: await st.approve('bob', 4, 'unlock') }))).toBe('approval_invalid');
    expect(((await c.request({ type: 'get_session', sid: b.sid })).session as Record<string, unknown>).state).toBe('active');
    const act = (await c.request({ type: 'activate', sid: a.sid, approval: await st.approve('alice', 4, 'unlock') }, 20_000)).session as Record<string, unknown>;
    expect(act.state).toBe('active');
    expect(((await c.request({ type: 'get_session', sid: b.sid })).session as Record<string, unknown>).state).toBe('locked');
    expect(await keysUsable(st.root.dir, ks, b.sid)).toBe(false);
    expect(await keysUsable(st.root.dir, ks, a.sid)).toBe(true);
    // The VT switch command was called for each step.
    expect(readFileSync(st.vtLog, 'utf8').trim().split('\n').slice(-3)).toEqual(['4', '5', '4']);
    // A second login of a user with a session is refused; so is a VT in use.
    expect(await code(login('bob', 6))).toBe('exists');
  });

  it('concurrent logins race to one consistent seat', async () => {
    const [pa, pb] = [st.approve('alice', 4), st.approve('bob', 5)];
    const [aa, ab] = [await pa, await pb];
    const c2 = await st.client();
    const r = await Promise.allSettled([
      c.request({ type: 'create_session', approval: aa, vt: 4 }, 20_000),
      c2.request({ type: 'create_session', approval: ab, vt: 5 }, 20_000),
    ]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled']);
    const list = (await c.request({ type: 'list_sessions' })).sessions as Array<Record<string, unknown>>;
    expect(list).toHaveLength(2);
    expect(list.filter((s) => s.state === 'active')).toHaveLength(1);
    expect(list.filter((s) => s.state === 'locked')).toHaveLength(1);
    // The locked one's keystore domain is locked, the active one's is not.
    const active = list.find((s) => s.state === 'active')!;
    expect(await keysUsable(st.root.dir, ks, list.find((s) => s.state === 'locked')!.sid as string)).toBe(false);
    expect(await keysUsable(st.root.dir, ks, active.sid as string)).toBe(true);
    // The same user twice at once: exactly one wins.
    await c.request({ type: 'logout', sid: active.sid }, 20_000);
    await c.request({ type: 'logout', sid: list.find((s) => s.state === 'locked')!.sid }, 20_000);
    const [x, y] = [await st.approve('alice', 6), await st.approve('alice', 7)];
    const r2 = await Promise.allSettled([c.request({ type: 'create_session', approval: x, vt: 6 }, 20_000), c2.request({ type: 'create_session', approval: y, vt: 7 }, 20_000)]);
    expect(r2.filter((q) => q.status === 'fulfilled')).toHaveLength(1);
    const rej = r2.find((q) => q.status === 'rejected') as PromiseRejectedResult;
    expect((rej.reason as ProtocolError).code).toBe('exists');
    expect((await c.request({ type: 'list_sessions' })).sessions).toHaveLength(1);
    c2.close();
  });

  it('leader crash ends the session: keystore locked, home closed, runtime dir removed, session_ended', async () => {
    const s = await login('alice', 4);
    killGroup(s.leader_pid);
    const ended = await waitFor(() => events.find((e) => e.event === 'session_ended'), 5000, 'session_ended');
    expect(ended).toMatchObject({ sid: s.sid, reason: 'crashed', exit_code: null });
    expect(events.filter((e) => e.event === 'home').map((e) => e.open)).toEqual([true, false]);
    expect(existsSync(st.root.path(`/run/user/${alice}`))).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
    expect(readFileSync(st.vtLog, 'utf8').trim().split('\n').at(-1)).toBe('3');
  });

  it('a failing launch unwinds every step (no half-open session)', async () => {
    const script = st.root.path('/session.sh');
    const saved = readFileSync(script, 'utf8');
    writeFileSync(script, '#!/bin/sh\nexit 3\n');
    rmSync(script);
    try {
      expect(await code(login('alice', 4))).toBe('internal');
    } finally {
      writeFileSync(script, saved, { mode: 0o755 });
    }
    expect((await c.request({ type: 'list_sessions' })).sessions).toEqual([]);
    expect(existsSync(st.root.path(`/run/user/${alice}`))).toBe(false);
    expect((await ks.status(alice)).unlocked).toBe(false);
    expect(events.filter((e) => e.event === 'home').map((e) => e.open)).toEqual([true, false]);
    expect(events.at(-1)).toMatchObject({ event: 'session', session: { state: 'closed' } });
  });

  it('lock_all and prepare_sleep lock the active session; report_activity is accepted', async () => {
    const s = await login('alice', 4);
    await c.request({ type: 'report_activity' });
    const r = await c.request({ type: 'prepare_sleep' });
    expect((r.sessions as Array<Record<string, unknown>>).map((x) => x.sid)).toEqual([s.sid]);
    expect((await c.request({ type: 'lock_all' })).sessions).toEqual([]);
    expect(await code(c.request({ type: 'lock', sid: s.sid }))).toBe('invalid_state');
  });

  it('the validation-only session writes its success marker and the session returns', async () => {
    const req = st.root.path('/run/redbear-kde-session.validation-request');
    const ok = st.root.path('/run/redbear-kde-session.validation-success');
    writeFileSync(req, '');
    try {
      const s = await login('alice', 4);
      const ended = await waitFor(() => events.find((e) => e.event === 'session_ended'), 10_000, 'session_ended');
      expect(ended).toMatchObject({ sid: s.sid, reason: 'exited', exit_code: 0 });
      expect(JSON.parse(readFileSync(ok, 'utf8'))).toMatchObject({ ok: true, sid: s.sid, uid: alice });
      expect(existsSync(st.root.path(`/run/user/${alice}`))).toBe(false);
      expect((await c.request({ type: 'list_sessions' })).sessions).toEqual([]);
      // The desktop command never ran.
      expect(existsSync(st.root.path('/home/alice/session-record')) && readFileSync(st.root.path('/home/alice/session-record'), 'utf8').includes(s.sid)).toBe(false);
    } finally {
      rmSync(req, { force: true });
      rmSync(ok, { force: true });
    }
  });

  it('the query socket serves read-only requests to any user and refuses the rest; the root socket refuses non-root peers', async () => {
    const s = await login('alice', 4);
    const script = `
      import { ProtocolClient } from ${JSON.stringify(path.join(REPO, 'protocol/dist/node/index.js'))};
      const out = {};
      const q = await ProtocolClient.connect({ iface: 'session', socketPath: ${JSON.stringify(st.querySock)} });
      out.hello = q.hello.read_only;
      out.list = (await q.request({ type: 'list_sessions' })).sessions.length;
      out.home = (await q.request({ type: 'current_home' })).home?.uri ?? null;
      out.lock = await q.request({ type: 'lock', sid: ${JSON.stringify(s.sid)} }).then(() => 'ok', (e) => e.code);
      q.close();
      out.main = await ProtocolClient.connect({ iface: 'session', socketPath: ${JSON.stringify(st.sessionSock)} }).then(() => 'ok', (e) => e.code);
      console.log(JSON.stringify(out));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' }));
    expect(out).toEqual({ hello: true, list: 1, home: `state:/secure/home/${alice}/`, lock: 'unauthorized', main: 'unavailable' });
    expect(((await c.request({ type: 'get_session', sid: s.sid })).session as Record<string, unknown>).state).toBe('active');
  });
});

describe.skipIf(!asRoot)('idle lock', () => {
  let st: Stack;
  beforeAll(async () => {
    st = await startStack({ idleS: 1 });
  });
  afterAll(async () => {
    await st?.cleanup();
  });
  it('locks after idle_timeout_s without report_activity, not while activity is reported', async () => {
    const c = await st.client();
    const s = (await c.request({ type: 'create_session', approval: await st.approve('alice', 4), vt: 4 }, 20_000)).session as { sid: string };
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await c.request({ type: 'report_activity', sid: s.sid });
    }
    expect(((await c.request({ type: 'get_session', sid: s.sid })).session as Record<string, unknown>).state).toBe('active');
    await waitFor(async () => ((await c.request({ type: 'get_session', sid: s.sid })).session as Record<string, unknown>).state === 'locked', 4000, 'idle lock');
    await c.request({ type: 'logout', sid: s.sid }, 20_000);
    c.close();
  });
});
