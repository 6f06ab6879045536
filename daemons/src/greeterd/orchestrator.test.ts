import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError, type Message } from '@redbear/protocol';
import { createLogger } from '../runtime/logger.js';
import { GREETERD_DEFAULTS, GreeterdConfigSchema, type GreeterdConfig } from './config.js';
import { parseConfig } from '../runtime/config.js';
import { Orchestrator, withSessions, MSG, type DownstreamPort, type SessionRecordLike, type UserWire } from './orchestrator.js';
import type { UiMode, UiProcess } from './ui-process.js';

/**
 * The orchestrator against in-memory authd/sessiond ports (no sockets, fake timers): the power
 * settle timeout and the user list's session marks. The same behaviour against the real
 * daemons: real-stack.test.ts.
 */

type Handler = (msg: Record<string, unknown> & { type: string }) => Message | Promise<Message>;

class Port extends EventEmitter implements DownstreamPort {
  connected = true;
  readonly calls: string[] = [];
  constructor(public handler: Handler) {
    super();
  }
  async request(msg: Record<string, unknown> & { type: string }): Promise<Message> {
    this.calls.push(msg.type);
    if (!this.connected) throw new ProtocolError('unavailable', 'down');
    return this.handler(msg);
  }
}

function fakeUi(): UiProcess & { modes: string[] } {
  const modes: string[] = [];
  let mode: UiMode = 'greeter';
  return {
    modes,
    generation: 1,
    get currentMode() {
      return mode;
    },
    ensure(m: UiMode) {
      mode = m;
      modes.push(m);
    },
    stop: async () => {
      modes.push('stopped');
    },
  } as unknown as UiProcess & { modes: string[] };
}

const USERS: UserWire[] = [
  { username: 'alice', full_name: 'Alice A', uid: 1000, has_pin: false, locked: false, has_avatar: false },
  { username: 'bob', full_name: 'Bob B', uid: 1001, has_pin: true, locked: false, has_avatar: false },
  { username: 'carol', full_name: 'Carol C', uid: 1002, has_pin: false, locked: false, has_avatar: false },
];

const rec = (sid: string, uid: number, username: string, state: string, vt = 3): SessionRecordLike => ({ sid, uid, username, vt, state, locked_at_ms: state === 'locked' ? 1 : null });

interface Rig {
  o: Orchestrator;
  auth: Port;
  session: Port;
  ui: ReturnType<typeof fakeUi>;
  events: Array<{ event: string; payload: Record<string, unknown> }>;
  sessions: SessionRecordLike[];
  power: string[];
}

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.o.close();
  rig = null;
  vi.useRealTimers();
});

async function start(config: Partial<GreeterdConfig> = {}, opts: { sessions?: SessionRecordLike[]; powerOk?: boolean } = {}): Promise<Rig> {
  const sessions = opts.sessions ?? [];
  const power: string[] = [];
  const auth = new Port((m) => {
    switch (m.type) {
      case 'first_boot_status':
        return { type: 'first_boot_status_result', first_boot: false };
      case 'list_users':
        return { type: 'list_users_result', users: USERS.map((u) => ({ ...u })) };
      case 'power_action':
        power.push(String(m.action));
        return { type: 'power_result', ok: opts.powerOk ?? true, message: opts.powerOk === false ? 'refused' : `${String(m.action)} requested` };
    }
    throw new ProtocolError('unknown_type', m.type);
  });
  const session = new Port((m) => {
    if (m.type === 'list_sessions') return { type: 'sessions_result', sessions: sessions.map((s) => ({ ...s })) };
    throw new ProtocolError('unknown_type', m.type);
  });
  const ui = fakeUi();
  const events: Rig['events'] = [];
  const o = new Orchestrator({
    config: { ...GREETERD_DEFAULTS, ...config },
    log: createLogger({ name: 'test', level: 'error', write: () => undefined }),
    auth,
    session,
    ui,
    broadcast: (event, payload) => events.push({ event, payload }),
    stdout: () => undefined,
  });
  await o.start(0);
  rig = { o, auth, session, ui, events, sessions, power };
  return rig;
}

const stateEvents = (r: Rig) => r.events.filter((e) => e.event === 'state').map((e) => e.payload);

describe('power_settle_timeout_ms', () => {
  it('a successful power command that leaves the machine up returns to the greeter and says why', async () => {
    vi.useFakeTimers();
    const r = await start({ power_settle_timeout_ms: 5_000 });
    expect(r.o.state).toBe('greeter_ready');
    expect(await r.o.power('shutdown')).toEqual({ ok: true, message: 'shutdown requested' });
    expect(r.o.state).toBe('power_action');
    await vi.advanceTimersByTimeAsync(4_900);
    expect(r.o.state).toBe('power_action'); // not before the settle time
    await vi.advanceTimersByTimeAsync(200);
    expect(r.o.state).toBe('greeter_ready');
    expect(r.o.message).toBe(MSG.shutdownNoEffect);
    expect(stateEvents(r).at(-1)).toEqual({ state: 'greeter_ready', message: MSG.shutdownNoEffect, reason: 'power_no_effect' });
    expect(r.o.machine.history.at(-1)).toEqual({ from: 'power_action', action: 'power_no_effect', to: 'greeter_ready' });
    expect(r.ui.modes.at(-1)).toBe('greeter');
    // The next attempt works as the first did (and reports reboot in its own words).
    expect((await r.o.power('reboot')).ok).toBe(true);
    await vi.advanceTimersByTimeAsync(5_100);
    expect(stateEvents(r).at(-1)).toEqual({ state: 'greeter_ready', message: MSG.rebootNoEffect, reason: 'power_no_effect' });
    expect(r.power).toEqual(['shutdown', 'reboot']);
  });

  it('from the lock screen it returns to the lock screen of the same session', async () => {
    vi.useFakeTimers();
    const r = await start({ power_settle_timeout_ms: 1_000 }, { sessions: [rec('s1', 1000, 'alice', 'locked')] });
    expect(r.o.state).toBe('locked');
    await r.o.power('reboot');
    expect(r.o.state).toBe('power_action');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(r.o.state).toBe('locked');
    expect(r.o.lockShown).toBe('s1');
    const last = r.events.at(-1)!;
    expect(last.event).toBe('lock');
    expect(last.payload.session).toMatchObject({ session_id: 's1', username: 'alice' });
  });

  it('0 keeps the old behaviour (power_action until the machine goes down); a failure still resumes at once', async () => {
    vi.useFakeTimers();
    const r = await start({ power_settle_timeout_ms: 0 });
    await r.o.power('shutdown');
    await vi.advanceTimersByTimeAsync(10 * 3_600_000);
    expect(r.o.state).toBe('power_action');
    await r.o.close();
    const f = await start({ power_settle_timeout_ms: 1_000 }, { powerOk: false });
    expect(await f.o.power('shutdown')).toEqual({ ok: false, message: 'refused' });
    expect(f.o.state).toBe('greeter_ready');
    expect(stateEvents(f).at(-1)).toEqual({ state: 'greeter_ready', message: 'refused' }); // no reason: the UI got ok:false
    await vi.advanceTimersByTimeAsync(2_000);
    expect(f.o.machine.history.filter((h) => h.action === 'power_no_effect')).toEqual([]);
  });

  it('closing greeterd cancels the settle timer', async () => {
    vi.useFakeTimers();
    const r = await start({ power_settle_timeout_ms: 1_000 });
    await r.o.power('shutdown');
    await r.o.close();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(r.o.state).toBe('power_action');
  });

  it('is validated: 0 or 100..3600000 ms, default 60 s', () => {
    const load = (text: string) => parseConfig(GreeterdConfigSchema, GREETERD_DEFAULTS, text, 'test');
    expect(load('').power_settle_timeout_ms).toBe(60_000);
    expect(load('power_settle_timeout_ms = 0').power_settle_timeout_ms).toBe(0);
    expect(load('power_settle_timeout_ms = 250').power_settle_timeout_ms).toBe(250);
    for (const bad of ['50', '-1', '3600001', '1.5', '"60000"']) expect(() => load(`power_settle_timeout_ms = ${bad}`)).toThrow(/power_settle_timeout_ms/);
  });
});

describe('user list with sessions', () => {
  it('withSessions marks each user with their open session (by uid), ignoring opening/closing ones', () => {
    const out = withSessions(USERS, [
      { uid: 1000, state: 'locked' },
      { uid: 1001, state: 'closing' },
      { uid: 1002, state: 'opening' },
      { uid: 4242, state: 'locked' },
    ]);
    expect(out.map((u) => [u.username, u.session])).toEqual([['alice', 'locked'], ['bob', undefined], ['carol', undefined]]);
    expect('session' in out[1]!).toBe(false);
    expect(withSessions(USERS, [{ uid: 1001, state: 'active' }])[1]).toEqual({ ...USERS[1], session: 'active' });
    // A stale mark from upstream never survives.
    expect(withSessions([{ ...USERS[0]!, session: 'locked' }], [])[0]).toEqual(USERS[0]);
  });

  it("list_users carries sessiond's current list, asked afresh each time", async () => {
    const r = await start({}, { sessions: [rec('s1', 1000, 'alice', 'locked')] });
    expect(r.o.state).toBe('locked');
    r.o.switchUser();
    const first = await r.o.listUsers();
    expect(first.find((u) => u.username === 'alice')?.session).toBe('locked');
    expect(first.filter((u) => u.session !== undefined)).toHaveLength(1);
    // bob logs in elsewhere and locks, alice's session ends: the next list says so.
    r.sessions.splice(0, r.sessions.length, rec('s2', 1001, 'bob', 'locked', 4));
    const second = await r.o.listUsers();
    expect(second.map((u) => [u.username, u.session])).toEqual([['alice', undefined], ['bob', 'locked'], ['carol', undefined]]);
    expect(r.session.calls.filter((c) => c === 'list_sessions').length).toBeGreaterThanOrEqual(2);
  });

  it('without sessiond it falls back to the locked sessions greeterd knows from events', async () => {
    const r = await start({}, { sessions: [rec('s1', 1000, 'alice', 'locked')] });
    r.o.switchUser();
    r.session.connected = false;
    const users = await r.o.listUsers();
    expect(users.map((u) => [u.username, u.session])).toEqual([['alice', 'locked'], ['bob', undefined], ['carol', undefined]]);
  });
});
