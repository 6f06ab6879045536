import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMounted } from '../../src/lib/securefs-fuse/index.js';
import { startStack, uidOf, waitFor, type Stack } from '../sessiond/helpers.js';
import { canMount } from './can-mount.js';

/**
 * A session without an encrypted home (no keystore grant: keystore off in authd) runs on the
 * plain home directory. Locked, then re-adopted by a restarted sessiond, it must not get a
 * (parked) mount over that directory — before or after the unlock.
 */

function runAs(uid: number, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { uid, gid: uid, cwd: '/', timeout: 20_000, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe.skipIf(!canMount)('sessiond re-adopting a locked session on a plain home', () => {
  let st: Stack;
  let home = '';
  afterAll(async () => {
    try {
      await st?.cleanup();
    } finally {
      if (home && (await isMounted(home))) await new Promise((r) => execFile('fusermount', ['-uz', home], r));
    }
  });

  it('no mount covers the plain home after the restart, and the unlocked session reads it', async () => {
    st = await startStack({ sessiondToml: '[home]\nlocked_wait_ms = 300\n', authdToml: '[keystore]\nenabled = false\n' });
    let c = await st.client();
    const alice = uidOf(st.root.dir, 'alice');
    home = st.root.path('/home/alice');
    const s = (await c.request({ type: 'create_session', approval: await st.approve('alice', 4), vt: 4 }, 20_000)).session as { sid: string; home_mount: unknown };
    expect(s.home_mount).toBeNull();
    expect(await isMounted(home)).toBe(false);
    await waitFor(() => existsSync(path.join(home, 'session-record')), 10_000, 'the session script');
    const before = (await runAs(alice, `head -1 '${home}/session-record'`)).stdout;
    expect(before).not.toBe('');
    await c.request({ type: 'lock', sid: s.sid });
    await st.restartSessiond(true);
    c.close();
    c = await st.client();
    const rec = ((await c.request({ type: 'list_sessions' })).sessions as Array<{ sid: string; state: string; home_mount: string | null }>).find((x) => x.sid === s.sid);
    expect(rec).toMatchObject({ state: 'locked', home_mount: null });
    expect(await isMounted(home)).toBe(false);
    await c.request({ type: 'unlock', sid: s.sid, approval: await st.approve('alice', 4, 'unlock') }, 20_000);
    expect(await isMounted(home)).toBe(false);
    expect((await runAs(alice, `head -1 '${home}/session-record'`)).stdout).toBe(before);
    await c.request({ type: 'logout', sid: s.sid }, 20_000);
    c.close();
  }, 90_000);
});
