import { afterEach, describe, expect, it } from 'vitest';
import { v1Request, type ProtocolClient } from '../../../protocol/src/node/index.js';
import { ProtocolError } from '../../../protocol/src/common/index.js';
import { assertNoSecrets, connect } from '../../../test/harness/index.js';
import { startStack, until, type Stack } from './fakes.js';

let stack: Stack | null = null;
const clients: ProtocolClient[] = [];
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && stack && process.env.GREETERD_TEST_DEBUG) console.log(stack.log(), stack.uiLog());
  for (const c of clients.splice(0)) c.close();
  await stack?.stop();
  stack = null;
});

async function ui(s: Stack): Promise<ProtocolClient & { events: Array<Record<string, unknown>> }> {
  const c = await connect('greeter', s.greeterd.socket);
  await c.subscribe(['state', 'lock', 'unlock', 'users_changed', 'rate_limit']);
  const events: Array<Record<string, unknown>> = [];
  c.on('event', (e: Record<string, unknown>) => events.push(e));
  clients.push(c);
  return Object.assign(c, { events });
}

const state = async (s: Stack) => (await v1Request(s.greeterd.socket, { type: 'hello', version: 1 })).state;
const starts = (s: Stack) => s.uiLog().filter((l) => !l.endsWith('stopped'));

describe('UI lifecycle', () => {
  it('a UI that crashes at once ends in fatal_error with the text console after the bounded retries', async () => {
    stack = await startStack({ ui: 'crash', users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    await until(async () => (await state(stack!)) === 'fatal_error', 'fatal_error');
    await until(() => stack!.cmdLog().includes('console 2'), 'console fallback command');
    // 1 start + 3 restarts, then no more.
    await new Promise((r) => setTimeout(r, 600));
    expect(starts(stack).length).toBe(4);
    expect(stack.greeterd.stdout()).toMatch(/fatal_error: the greeter UI failed 4 times within 60 s; switching to the text console/);
    expect(stack.log()).toMatch(/fatal_error: text console activated/);
    // A login is refused cleanly in fatal_error.
    const r = await v1Request(stack.greeterd.socket, { type: 'submit_login', username: 'alice', password: 'pw-alice-1234' });
    expect(r).toMatchObject({ ok: false, state: 'fatal_error' });
  });

  it('a UI that crashes once is restarted and the greeter stays ready', async () => {
    stack = await startStack({ ui: 'crash-once' });
    await until(() => starts(stack!).length >= 2, 'the restart');
    await new Promise((r) => setTimeout(r, 300));
    expect(starts(stack).length).toBe(2);
    expect((await ui(stack)).hello?.state).toBe('first_boot');
    expect(stack.cmdLog()).not.toContain('console 2');
  });

  it('starts in first_boot (OOBE mode UI) without human users', async () => {
    stack = await startStack();
    const c = await ui(stack);
    expect(c.hello).toMatchObject({ state: 'first_boot', first_boot: true, hostname: 'redbear', session_name: 'KDE on Wayland' });
    await until(() => starts(stack!).length === 1, 'UI');
    expect(starts(stack)[0]!.split(' ')[3]).toBe('oobe');
  });
});

describe('orchestration', () => {
  it('rate limiting reports the wait, invalid credentials return to greeter_ready', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    const c = await ui(stack);
    await expect(c.request({ type: 'submit_login', username: 'alice', password: 'nope-nope-1' })).rejects.toMatchObject({ code: 'auth_failed', message: 'Login failed' });
    stack.authd.rateLimitMs = 30_000;
    const e = await c.request({ type: 'submit_login', username: 'alice', password: 'nope-nope-2' }).catch((x: ProtocolError) => x);
    expect(e).toMatchObject({ code: 'rate_limited', extra: { retry_after_ms: 30_000 } });
    await until(() => c.events.some((x) => x.event === 'rate_limit' && x.retry_after_ms === 30_000 && x.username === 'alice'), 'rate_limit event');
    expect(await state(stack)).toBe('greeter_ready');
    expect(c.events.filter((x) => x.event === 'state').map((x) => x.state)).toEqual(['authenticating', 'greeter_ready', 'authenticating', 'greeter_ready']);
  });

  it('authd killed mid-login: reports unavailable, never starts a session, recovers when authd returns', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    stack.authd.authDelayMs = 1_000;
    const pending = v1Request(stack.greeterd.socket, { type: 'submit_login', username: 'alice', password: 'pw-alice-1234' });
    await until(async () => (await state(stack!)) === 'authenticating', 'authenticating');
    await stack.authd.stop();
    expect(await pending).toEqual({ type: 'login_result', ok: false, state: 'greeter_ready', message: 'Authentication service unavailable' });
    expect(stack.sessiond.calls.filter((x) => x.type === 'create_session')).toHaveLength(0);
    const down = await v1Request(stack.greeterd.socket, { type: 'submit_login', username: 'alice', password: 'pw-alice-1234' });
    expect(down).toMatchObject({ ok: false, message: 'Authentication service unavailable' });
    stack.authd.authDelayMs = 0;
    await stack.authd.start();
    const up = await until(async () => {
      const r = await v1Request(stack!.greeterd.socket, { type: 'submit_login', username: 'alice', password: 'pw-alice-1234' });
      return r.ok === true && r;
    }, 'login after authd returned');
    expect(up.state).toBe('session_running');
    expect(await state(stack)).toBe('session_running');
    expect(stack.greeterd.stdout()).not.toMatch(/ui: login/); // no greeter screen was reported
  });

  it('sessiond killed mid-launch: reports, the UI comes back, never session_running', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    stack.sessiond.createDelayMs = 1_000;
    await until(() => starts(stack!).length === 1, 'the first UI up');
    const pending = v1Request(stack.greeterd.socket, { type: 'submit_login', username: 'alice', password: 'pw-alice-1234' });
    await until(async () => (await state(stack!)) === 'launching_session', 'launching_session');
    await stack.sessiond.stop();
    expect(await pending).toMatchObject({ ok: false, state: 'greeter_ready', message: 'Session service unavailable' });
    expect(stack.log()).not.toMatch(/"to":"session_running"/);
    await until(() => starts(stack!).length === 2, 'UI back after the failed launch');
    stack.sessiond.createDelayMs = 0;
    await stack.sessiond.start();
    await until(async () => (await v1Request(stack!.greeterd.socket, { type: 'submit_login', username: 'alice', password: 'pw-alice-1234' })).ok === true, 'login after sessiond returned');
  });

  it('lock → lock screen UI, switch user keeps it locked, unlock goes through authd and sessiond; markers only after report_screen', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000, pin: '4321', full_name: 'Alice A' }, bob: { password: 'pw-bob-123456', uid: 1001 } } });
    const c = await ui(stack);
    await until(() => starts(stack!).length === 1, 'UI');
    await c.request({ type: 'report_screen', screen: 'greeter', user_count: 2 });
    const r = await c.request({ type: 'submit_login', username: 'alice', password: 'pw-alice-1234' });
    expect(r).toMatchObject({ ok: true, state: 'session_running', uid: 1000 });
    await until(() => stack!.greeterd.stdout().includes('ui: login uid=1000\n'), 'login marker');
    await until(() => stack!.uiLog().some((l) => l.endsWith('stopped')), 'UI stopped for the session');
    const sid = [...stack.sessiond.sessions.keys()][0]!;

    // Lock: the UI comes back in lock mode.
    stack.sessiond.lock(sid);
    await until(async () => (await state(stack!)) === 'greeter_ready' && starts(stack!).length === 2, 'lock screen UI');
    expect(starts(stack)[1]!.split(' ')[3]).toBe('lock');
    const c2 = await ui(stack);
    expect(c2.hello).toMatchObject({ state: 'locked', lock: { session_id: sid, username: 'alice', full_name: 'Alice A', uid: 1000, has_pin: true } });
    expect(stack.greeterd.stdout()).not.toMatch(/lockscreen shown/);
    await c2.request({ type: 'report_screen', screen: 'lock' });
    await until(() => stack!.greeterd.stdout().includes('ui: lockscreen shown\n'), 'lockscreen marker');

    // Switch user: greeter list, the session stays locked.
    await c2.request({ type: 'switch_user' });
    expect(await state(stack)).toBe('greeter_ready');
    expect(stack.sessiond.sessions.get(sid)!.state).toBe('locked');

    // Alice logs in again from the user list: that is an unlock (purpose unlock), not a new session.
    await c2.request({ type: 'submit_pin', username: 'alice', pin: '4321' });
    expect(stack.sessiond.sessions.get(sid)!.state).toBe('active');
    expect(stack.sessiond.calls.filter((x) => x.type === 'create_session')).toHaveLength(1);
    expect(stack.authd.calls.filter((x) => x.purpose === 'unlock')).toHaveLength(1);
    await until(() => c2.events.some((x) => x.event === 'unlock' && x.session_id === sid), 'unlock event');

    // Lock again, a wrong secret keeps the lock screen, the right one unlocks.
    stack.sessiond.lock(sid);
    await until(async () => (await ui(stack!)).hello?.state === 'locked', 'locked again');
    const c3 = await ui(stack);
    await expect(c3.request({ type: 'unlock', session_id: sid, secret: 'bad-secret-9', kind: 'password' })).rejects.toMatchObject({ code: 'auth_failed' });
    expect((await ui(stack)).hello?.state).toBe('locked');
    await c3.request({ type: 'unlock', session_id: sid, secret: 'pw-alice-1234', kind: 'password' });
    expect(await state(stack)).toBe('session_running');

    // The session ends: back to the greeter.
    stack.sessiond.end(sid);
    await until(async () => (await state(stack!)) === 'greeter_ready', 'greeter_ready after logout');
    assertNoSecrets({ log: stack.log(), stdout: stack.greeterd.stdout(), stderr: stack.greeterd.stderr() }, ['pw-alice-1234', 'bad-secret-9', 'pw-bob-123456']);
  });

  it('first boot: create_first_user → continue token → start_first_session; the token is single-use; oobe marker after report_screen', async () => {
    stack = await startStack();
    const c = await ui(stack);
    expect(stack.greeterd.stdout()).not.toMatch(/oobe start/);
    await c.request({ type: 'report_screen', screen: 'oobe', step: 'welcome' });
    await c.request({ type: 'report_screen', screen: 'oobe', step: 'account' });
    await until(() => stack!.greeterd.stdout().includes('ui: oobe start\n'), 'oobe marker');
    expect(stack.greeterd.stdout().match(/ui: oobe start/g)).toHaveLength(1);
    const r = await c.request({ type: 'create_first_user', full_name: 'Alice', username: 'alice', password: 'first-pass-777' });
    expect(r).toMatchObject({ uid: 1000, username: 'alice', recovery_key: 'RBRK-AAAA-BBBB-CCCC', continue_token_ttl_ms: 120_000 });
    await until(() => c.events.some((x) => x.event === 'users_changed'), 'users_changed forwarded');
    expect(c.events.filter((x) => x.event === 'state')).toHaveLength(0); // still first_boot: the recovery key shows
    await expect(c.request({ type: 'create_first_user', full_name: 'M', username: 'mallory', password: 'x-pass-12345' })).rejects.toMatchObject({ code: 'not_first_boot' });
    const token = String(r.continue_token);
    const s = await c.request({ type: 'start_first_session', continue_token: token });
    expect(s).toMatchObject({ ok: true, uid: 1000, state: 'session_running' });
    await until(() => stack!.greeterd.stdout().includes('ui: login uid=1000\n'), 'login marker after OOBE');
    const again = await connect('greeter', stack.greeterd.socket);
    clients.push(again);
    await expect(again.request({ type: 'start_first_session', continue_token: token })).rejects.toMatchObject({ code: 'approval_invalid' });
    assertNoSecrets({ log: stack.log(), stdout: stack.greeterd.stdout() }, ['first-pass-777', token]);
  });

  it('power requests go through authd and change state', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    const c = await ui(stack);
    expect(await c.request({ type: 'request_shutdown' })).toMatchObject({ ok: true });
    expect(stack.authd.power).toEqual(['shutdown']);
    expect(await state(stack)).toBe('power_action');
  });
});
