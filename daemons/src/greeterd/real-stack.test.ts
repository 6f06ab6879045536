import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1Request, type ProtocolClient } from '../../../protocol/src/node/index.js';
import { connect, FAST_KEYSTORED_TOML, makeRoot, recordingDir, REPO, startDaemon, type TestRoot } from '../../../test/harness/index.js';
import { killGroup, leaderPids, waitFor } from '../../test/sessiond/helpers.js';

/**
 * greeterd on the real keystored, authd and sessiond (the built daemons, one temporary root):
 *  - a power command that succeeds while the machine stays up: after power_settle_timeout_ms
 *    greeterd is back on the greeter and says why (reason power_no_effect), v1 and v2;
 *  - the user list marks who has a locked session, from sessiond's own list: after a second
 *    user logs out, the first user's locked session shows, and logging in as that user unlocks
 *    it (same sid, no second session).
 * authd's power commands and the session command are small recording scripts in the root.
 */
const built = ['keystored', 'authd', 'sessiond', 'greeterd'].every((d) => existsSync(path.join(REPO, 'daemons/dist', d, 'main.js')));
const SETTLE_MS = 700;
const PW: Record<string, string> = { alice: 'alice-Real-4242', bob: 'bob-Real-4242' };

type Daemon = Awaited<ReturnType<typeof startDaemon>>;
type Client = ProtocolClient & { events: Array<Record<string, unknown>> };

interface User {
  username: string;
  uid: number;
  session?: string;
}
interface Sess {
  sid: string;
  username: string;
  uid: number;
  state: string;
  vt: number;
}

describe.skipIf(!built || process.getuid?.() !== 0)('greeterd with the real authd and sessiond: power settle, sessions in the user list', () => {
  let root: TestRoot;
  const daemons: Daemon[] = [];
  let g: Daemon;
  const clients: ProtocolClient[] = [];
  let rec = '';

  const greeter = async (): Promise<Client> => {
    const c = await connect('greeter', g.socket);
    clients.push(c);
    await c.subscribe(['state', 'lock', 'unlock', 'users_changed']);
    const events: Array<Record<string, unknown>> = [];
    c.on('event', (e: Record<string, unknown>) => events.push(e));
    return Object.assign(c, { events });
  };
  const sessiond = async (): Promise<ProtocolClient> => {
    const c = await connect('session', root.path('/run/redbear-sessiond.sock'));
    clients.push(c);
    return c;
  };
  const sessions = async (): Promise<Sess[]> => {
    const c = await sessiond();
    const r = await c.request({ type: 'list_sessions' });
    c.close();
    return r.sessions as Sess[];
  };
  const state = async (): Promise<string> => String((await v1Request(g.socket, { type: 'hello', version: 1 })).state);
  const v2State = async (): Promise<string> => {
    const c = await connect('greeter', g.socket);
    c.close();
    return String(c.hello?.state);
  };
  const users = async (c: ProtocolClient): Promise<Record<string, string | undefined>> => {
    const r = await c.request({ type: 'list_users' });
    return Object.fromEntries((r.users as User[]).map((u) => [u.username, u.session]));
  };
  const started = (user: string) => readFileSync(path.join(rec, 'sessions.log'), 'utf8').split('\n').filter((l) => l.startsWith(`started ${user}`)).length;

  beforeAll(async () => {
    root = await makeRoot(Object.entries(PW).map(([name, password]) => ({ name, password, rounds: 5000 })));
    const recording = recordingDir(root, '/rec');
    rec = recording.dir;
    const script = recording.script;
    script('power.sh', `#!/bin/sh\necho "$*" >> "${rec}/power.log"\n`);
    script('session.sh', `#!/bin/sh\necho "started $USER" >> "${rec}/sessions.log"\ntrap 'exit 0' TERM\nsleep 600 &\nwait\n`);
    const configs = {
      keystored: FAST_KEYSTORED_TOML,
      authd: `[hashing]\nsha512_rounds = 5000\n[throttle]\nfailure_delay_ms = 20\n[pin]\nmemory_kib = 1024\ntime_cost = 1\n[power]\nshutdown = ["${rec}/power.sh", "poweroff"]\nreboot = ["${rec}/power.sh", "reboot"]\ntimeout_ms = 5000\n`,
      sessiond: `[session]\ncommand = ["${rec}/session.sh"]\ndbus_run_session = ""\nstart_timeout_ms = 10000\nlogout_grace_ms = 2000\nleader_poll_ms = 50\n[lock]\nidle_timeout_s = 0\n[vt]\nswitch_command = []\n`,
    };
    for (const d of ['keystored', 'authd', 'sessiond'] as const) daemons.push(await startDaemon(d, { root: root.dir, config: configs[d] }));
    g = await startDaemon('greeterd', {
      root: root.dir,
      config: `power_settle_timeout_ms = ${SETTLE_MS}\n[ui]\ncommand = [${JSON.stringify(process.execPath)}, "-e", "setInterval(()=>{}, 1<<30)"]\n[commands]\nactivate_vt = []\nconsole_fallback = []\n[authd]\nauth_timeout_ms = 15000\n`,
    });
    daemons.push(g);
    await waitFor(async () => (await state()) === 'greeter_ready', 15_000, 'greeter_ready');
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    const pids = root ? leaderPids(root.dir) : [];
    for (const d of daemons.reverse()) await d.stop().catch(() => undefined);
    for (const pid of pids) killGroup(pid);
    root?.cleanup();
  }, 60_000);

  it('a power command that succeeds while the machine stays up: back to the greeter after the settle time, with the reason', async () => {
    const c = await greeter();
    const t0 = Date.now();
    expect(await c.request({ type: 'request_shutdown' })).toMatchObject({ ok: true });
    expect(readFileSync(path.join(rec, 'power.log'), 'utf8')).toBe('poweroff\n');
    expect(await v2State()).toBe('power_action');
    const back = await waitFor(() => c.events.find((e) => e.event === 'state' && e.state === 'greeter_ready'), 10_000, 'greeter_ready after the settle time');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(SETTLE_MS - 50);
    expect(back).toMatchObject({ state: 'greeter_ready', reason: 'power_no_effect', message: 'The shutdown did not take effect; the computer is still running' });
    expect(c.events.filter((e) => e.event === 'state').map((e) => e.state)).toEqual(['power_action', 'greeter_ready']);
    expect(await v2State()).toBe('greeter_ready');

    // v1 (Red Bear's client): the same, seen through hello.
    expect(await v1Request(g.socket, { type: 'request_reboot' })).toEqual({ type: 'action_result', ok: true, message: expect.any(String) });
    expect(await state()).toBe('power_action');
    await waitFor(async () => (await state()) === 'greeter_ready', 10_000, 'v1 greeter_ready');
    expect(readFileSync(path.join(rec, 'power.log'), 'utf8')).toBe('poweroff\nreboot\n');
    // A login works as usual afterwards (checked by the next test, on the same greeterd).
  }, 30_000);

  it("after a second user logs out, the first user's locked session shows in the user list; choosing that user unlocks it", async () => {
    const c = await greeter();
    expect(await users(c)).toEqual({ alice: undefined, bob: undefined });

    // alice logs in, her session gets locked (as by her screen locker), "Switch user".
    expect(await c.request({ type: 'submit_login', username: 'alice', password: PW.alice! }, 30_000)).toMatchObject({ ok: true, state: 'session_running' });
    const alice = (await sessions()).find((s) => s.username === 'alice')!;
    expect(alice.state).toBe('active');
    const sd = await sessiond();
    await sd.request({ type: 'lock', sid: alice.sid });
    await waitFor(async () => (await v2State()) === 'locked', 10_000, 'lock screen');
    const lockUi = await greeter();
    await lockUi.request({ type: 'switch_user' });
    expect(await users(lockUi)).toEqual({ alice: 'locked', bob: undefined });

    // bob logs in (alice's session stays locked), on another VT.
    expect(await lockUi.request({ type: 'submit_login', username: 'bob', password: PW.bob! }, 30_000)).toMatchObject({ ok: true });
    const both = await sessions();
    const bob = both.find((s) => s.username === 'bob')!;
    expect(bob).toMatchObject({ state: 'active' });
    expect(bob.vt).not.toBe(alice.vt);
    expect(both.find((s) => s.username === 'alice')).toMatchObject({ sid: alice.sid, state: 'locked' });
    expect(await users(lockUi)).toEqual({ alice: 'locked', bob: 'active' });

    // bob logs out: back to the greeter, and the list still says alice's session is there, locked.
    await sd.request({ type: 'logout', sid: bob.sid }, 15_000);
    await waitFor(async () => (await v2State()) === 'greeter_ready', 15_000, 'greeter after bob logged out');
    const ui = await greeter();
    expect(await users(ui)).toEqual({ alice: 'locked', bob: undefined });

    // Choosing alice and signing in unlocks her running session: same sid, no new session.
    expect(await ui.request({ type: 'submit_login', username: 'alice', password: PW.alice! }, 30_000)).toMatchObject({ ok: true, state: 'session_running' });
    const after = await sessions();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ sid: alice.sid, username: 'alice', state: 'active' });
    expect(started('alice')).toBe(1);
    expect(started('bob')).toBe(1);
    expect(await users(ui)).toEqual({ alice: 'active', bob: undefined });

    await sd.request({ type: 'logout', sid: alice.sid }, 15_000);
    await waitFor(async () => (await v2State()) === 'greeter_ready', 15_000, 'greeter after alice logged out');
    expect(await users(ui)).toEqual({ alice: undefined, bob: undefined });
  }, 120_000);
});
