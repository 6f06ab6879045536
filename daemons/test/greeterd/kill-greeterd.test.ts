import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../../../test/harness/index.js';
import { ProtocolClient } from '../../../protocol/src/node/index.js';
import { PW, startStack, waitFor, type Stack } from '../sessiond/helpers.js';

/**
 * greeterd is only an orchestrator: killing it (-9) at any state must never unlock a
 * session or end one; a restarted greeterd picks up the state sessiond holds.
 */
const UI = `[ui]\ncommand = [${JSON.stringify(process.execPath)}, "-e", "setInterval(()=>{}, 1<<30)"]\n[commands]\nactivate_vt = []\nconsole_fallback = []\n`;

describe.skipIf(process.getuid?.() !== 0)('killing greeterd', () => {
  let st: Stack;
  let g: Awaited<ReturnType<typeof startDaemon>>;
  const startGreeterd = async () => {
    g = await startDaemon('greeterd', { root: st.root.dir, config: UI });
  };
  const greeter = () => ProtocolClient.connect({ iface: 'greeter', socketPath: g.socket });
  const sessionOf = async (user: string) => {
    const q = await st.query();
    try {
      const r = await q.request({ type: 'list_sessions' });
      return (r.sessions as Array<{ sid: string; username: string; state: string }>).find((s) => s.username === user);
    } finally {
      q.close();
    }
  };
  const kill9 = async () => {
    g.child.kill('SIGKILL');
    await g.exited;
  };

  beforeAll(async () => {
    st = await startStack();
    await startGreeterd();
  }, 60_000);
  afterAll(async () => {
    await g?.stop().catch(() => undefined);
    await st?.cleanup();
  });

  it('neither ends a running session nor unlocks a locked one, and a restart resumes the state', async () => {
    const c = await greeter();
    await c.request({ type: 'submit_login', username: 'alice', password: PW.alice! }, 30_000);
    c.close();
    const active = await waitFor(async () => (await sessionOf('alice'))?.state === 'active' && (await sessionOf('alice')), 15_000, 'alice active');

    // Killed while the session runs: the session keeps running; a new greeterd knows it.
    await kill9();
    expect((await sessionOf('alice'))?.state).toBe('active');
    await startGreeterd();
    await waitFor(async () => {
      const h = await greeter();
      h.close();
      return h.hello?.state === 'session_running';
    }, 10_000, 'greeterd resumes session_running');

    // Locked, then killed: still locked, and the restarted greeterd shows the lock screen for it.
    const s = await st.client();
    await s.request({ type: 'lock', sid: active.sid });
    s.close();
    await waitFor(async () => (await sessionOf('alice'))?.state === 'locked', 10_000, 'alice locked');
    await kill9();
    expect((await sessionOf('alice'))?.state).toBe('locked');
    await startGreeterd();
    const h = await waitFor(async () => {
      const x = await greeter();
      x.close();
      return x.hello?.state === 'locked' && x.hello;
    }, 10_000, 'greeterd resumes locked');
    expect((h.lock as { session_id: string }).session_id).toBe(active.sid);
    expect((await sessionOf('alice'))?.state).toBe('locked');

    // Only the user's secret unlocks it.
    const u = await greeter();
    await expect(u.request({ type: 'unlock', session_id: active.sid, secret: 'not-the-password', kind: 'password' }, 30_000)).rejects.toMatchObject({ code: 'auth_failed' });
    expect((await sessionOf('alice'))?.state).toBe('locked');
    await u.request({ type: 'unlock', session_id: active.sid, secret: PW.alice!, kind: 'password' }, 30_000);
    u.close();
    await waitFor(async () => (await sessionOf('alice'))?.state === 'active', 10_000, 'alice active again');
  }, 120_000);
});
