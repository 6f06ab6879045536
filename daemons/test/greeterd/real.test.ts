import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { v1Request } from '../../../protocol/src/node/index.js';
import { makeRoot, startDaemon, REPO, type TestRoot } from '../../../test/harness/index.js';
import { until } from './fakes.js';

/** The same v1 loop against the real authd and sessiond, when they are built (skipped otherwise). */
const built = ['authd', 'sessiond', 'greeterd'].every((d) => existsSync(path.join(REPO, 'daemons/dist', d, 'main.js')));
const stops: Array<() => Promise<unknown>> = [];
let root: TestRoot | null = null;
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  root?.cleanup();
});

describe.skipIf(!built || process.env.GREETERD_FAKES_ONLY === '1')('greeterd with the real authd and sessiond', () => {
  it('v1 invalid login, valid validation login, back to greeter_ready', async (ctx) => {
    root = await makeRoot([{ name: 'alice', password: 'real-pass-4242', rounds: 5000 }]);
    const ui = `[ui]\ncommand = [${JSON.stringify(process.execPath)}, "-e", "setInterval(()=>{}, 1<<30)"]\n[commands]\nactivate_vt = []\nconsole_fallback = []\n`;
    for (const d of ['keystored', 'authd', 'sessiond'] as const) {
      if (!existsSync(path.join(REPO, 'daemons/dist', d, 'main.js'))) continue;
      const cfg = d === 'sessiond' ? '[vt]\nswitch_command = []\n' : undefined;
      let s;
      try {
        s = await startDaemon(d, { root: root.dir, ...(cfg ? { config: cfg } : {}) });
      } catch (e) {
        // Another helper's daemon that does not start is not greeterd's failure: say so and skip.
        console.warn(`real ${d} did not start; skipping: ${(e as Error).message}\n${String((e as { output?: string }).output ?? '').slice(0, 2000)}`);
        ctx.skip();
        return;
      }
      stops.push(() => s.stop());
    }
    const g = await startDaemon('greeterd', { root: root.dir, config: ui });
    stops.push(() => g.stop());
    const bad = await v1Request(g.socket, { type: 'submit_login', username: 'alice', password: 'wrong-pass-1' }, 20_000);
    expect(bad).toEqual({ type: 'login_result', ok: false, state: 'greeter_ready', message: 'Login failed' });
    writeFileSync(root.path('/run/redbear-kde-session.validation-request'), '');
    const good = await v1Request(g.socket, { type: 'submit_login', username: 'alice', password: 'real-pass-4242' }, 30_000);
    expect(good).toMatchObject({ ok: true });
    await until(() => existsSync(root!.path('/run/redbear-kde-session.validation-success')), 'validation success', 20_000);
    await until(async () => (await v1Request(g.socket, { type: 'hello', version: 1 })).state === 'greeter_ready', 'greeter_ready', 20_000);
  }, 90_000);
});
