import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, FAST_KEYSTORED_TOML, makeRoot, REPO, startDaemon, type TestRoot } from '../../../test/harness/index.js';
import { alive, killGroup, leaderPids, waitFor } from '../../test/sessiond/helpers.js';
import { parseConfig } from '../runtime/config.js';
import { SESSIOND_DEFAULTS, SessiondConfigSchema } from './config.js';

/**
 * `[session] prewarm_launcher`: with true (the default) sessiond keeps one bundled launcher
 * started ahead of the next login; with false there is no such spare process, and sessions
 * still start (their launcher is started at login time). Real keystored, authd and sessiond.
 */
const built = ['keystored', 'authd', 'sessiond', 'session-launch'].every((d) => existsSync(path.join(REPO, 'daemons/dist', d, 'main.js')));
const PW = 'alice-Prewarm-42';
const LAUNCHER = path.join(REPO, 'daemons/dist/session-launch/main.js');

type Daemon = Awaited<ReturnType<typeof startDaemon>>;

interface Rig {
  root: TestRoot;
  daemons: Daemon[];
}
let rig: Rig | null = null;

afterEach(async () => {
  if (!rig) return;
  const pids = leaderPids(rig.root.dir);
  for (const d of rig.daemons.reverse()) await d.stop().catch(() => undefined);
  for (const pid of [...pids, ...launchers(rig.root.dir)]) killGroup(pid);
  rig.root.cleanup();
  rig = null;
}, 30_000);

/** Pids of bundled launchers started for this root (spares and session leaders). */
function launchers(rootDir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.includes(LAUNCHER) && argv.includes(rootDir) && alive(Number(name))) out.push(Number(name));
  }
  return out;
}

async function start(prewarm: boolean | null): Promise<Rig & { spares(): Promise<number[]>; login(): Promise<{ sid: string; leader_pid: number; state: string }> }> {
  const root = await makeRoot([{ name: 'alice', password: PW, rounds: 5000 }]);
  rig = { root, daemons: [] };
  const script = root.path('/session.sh');
  writeFileSync(script, `#!/bin/sh\ntrap 'exit 0' TERM\nsleep 600 &\nwait\n`);
  chmodSync(script, 0o755);
  const sessiond = `[session]\ncommand = ["${script}"]\ndbus_run_session = ""\nstart_timeout_ms = 10000\nlogout_grace_ms = 2000\nleader_poll_ms = 50\n${prewarm === null ? '' : `prewarm_launcher = ${prewarm}\n`}[lock]\nidle_timeout_s = 0\n[vt]\nswitch_command = []\n`;
  rig.daemons.push(await startDaemon('keystored', { root: root.dir, config: FAST_KEYSTORED_TOML }));
  rig.daemons.push(await startDaemon('authd', { root: root.dir, config: '[hashing]\nsha512_rounds = 5000\n[pin]\nmemory_kib = 1024\ntime_cost = 1\n' }));
  rig.daemons.push(await startDaemon('sessiond', { root: root.dir, config: sessiond }));
  const sock = root.path('/run/redbear-sessiond.sock');
  const list = async () => {
    const c = await connect('session', sock);
    try {
      return (await c.request({ type: 'list_sessions' })).sessions as Array<{ sid: string; leader_pid: number | null; state: string }>;
    } finally {
      c.close();
    }
  };
  return {
    ...rig,
    /** Launchers that are not a session's leader. */
    async spares() {
      const leaders = new Set((await list()).map((s) => s.leader_pid));
      return launchers(root.dir).filter((p) => !leaders.has(p));
    },
    async login() {
      const a = await connect('auth', root.path('/run/redbear-authd.sock'));
      let approval: string;
      try {
        approval = String((await a.request({ type: 'authenticate', username: 'alice', password: PW, vt: 3, purpose: 'login' }, 20_000)).approval);
      } finally {
        a.close();
      }
      const c = await connect('session', sock);
      try {
        return (await c.request({ type: 'create_session', approval, vt: 3 }, 20_000)).session as { sid: string; leader_pid: number; state: string };
      } finally {
        c.close();
      }
    },
  };
}

async function logout(root: TestRoot, sid: string): Promise<void> {
  const c = await connect('session', root.path('/run/redbear-sessiond.sock'));
  try {
    await c.request({ type: 'logout', sid }, 15_000);
  } finally {
    c.close();
  }
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('[session] prewarm_launcher', () => {
  it('is a validated boolean, default true', () => {
    const load = (text: string) => parseConfig(SessiondConfigSchema, SESSIOND_DEFAULTS, text, 'test');
    expect(SESSIOND_DEFAULTS.session.prewarm_launcher).toBe(true);
    expect(load('').session.prewarm_launcher).toBe(true);
    expect(load('[session]\nprewarm_launcher = false').session.prewarm_launcher).toBe(false);
    for (const bad of ['"false"', '0', '1', '"yes"']) expect(() => load(`[session]\nprewarm_launcher = ${bad}`)).toThrow(/prewarm_launcher/);
  });

  it.skipIf(!built || process.getuid?.() !== 0)('true (default): one spare launcher waits; a login uses it and another one is started', async () => {
    const st = await start(null);
    const [spare] = await waitFor(async () => {
      const s = await st.spares();
      return s.length === 1 && s;
    }, 10_000, 'the spare launcher');
    await settle(300);
    expect(await st.spares()).toEqual([spare]); // exactly one
    const s = await st.login();
    expect(s.state).toBe('active');
    expect(s.leader_pid).toBe(spare); // the spare became the session's leader
    const [next] = await waitFor(async () => {
      const x = await st.spares();
      return x.length === 1 && x;
    }, 10_000, 'a new spare');
    expect(next).not.toBe(spare);
    await logout(st.root, s.sid);
    expect(await st.spares()).toEqual([next]);
  }, 60_000);

  it.skipIf(!built || process.getuid?.() !== 0)('false: no spare launcher process at any time, and sessions still start and end', async () => {
    const st = await start(false);
    await settle(1_000); // a spare, if any, would have been started with sessiond's start
    expect(launchers(st.root.dir)).toEqual([]);
    const s = await st.login();
    expect(s.state).toBe('active');
    expect(alive(s.leader_pid)).toBe(true);
    expect(launchers(st.root.dir)).toEqual([s.leader_pid]); // the session's own launcher, nothing else
    await settle(1_000);
    expect(await st.spares()).toEqual([]);
    await logout(st.root, s.sid);
    await waitFor(() => !alive(s.leader_pid), 10_000, 'the leader to exit');
    // And again: each login starts its own launcher.
    const s2 = await st.login();
    expect(s2.state).toBe('active');
    expect(s2.leader_pid).not.toBe(s.leader_pid);
    await settle(500);
    expect(await st.spares()).toEqual([]);
    await logout(st.root, s2.sid);
    await settle(300);
    expect(launchers(st.root.dir)).toEqual([]);
  }, 60_000);
});
