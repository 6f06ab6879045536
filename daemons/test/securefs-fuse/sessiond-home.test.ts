import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtocolClient } from '../../../protocol/src/node/index.js';
import type { Message } from '../../../protocol/src/common/index.js';
import { isMounted } from '../../src/lib/securefs-fuse/index.js';
import { collect, startStack, uidOf, waitFor, type Stack } from '../sessiond/helpers.js';
import { canMount } from './can-mount.js';

/**
 * sessiond against the real keystored (and authd when it starts): login mounts the SecureFS home
 * over the user's home directory; the session writes through it; logout unmounts. sessiond is
 * another process, so this test may touch the mount directly.
 */

const MARK = 'SESSION-PLAINTEXT-' + randomBytes(10).toString('hex');

const SCRIPT = `#!/bin/sh
if [ -f "$HOME/from-session.txt" ]; then
  cp "$HOME/from-session.txt" "$HOME/seen-again.tmp" && mv "$HOME/seen-again.tmp" "$HOME/seen-again.txt"
else
  printf '%s' '${MARK}' > "$HOME/from-session.txt"
fi
stat -f -c %T "$HOME" > "$HOME/fstype.tmp" && mv "$HOME/fstype.tmp" "$HOME/fstype"
trap 'exit 0' TERM
sleep 600 &
wait
`;

function runAs(uid: number, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { uid, gid: uid, cwd: '/', timeout: 20_000, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr }),
    );
  });
}

async function allBytes(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) parts.push(await readFile(path.join(e.parentPath, e.name)));
  }
  return Buffer.concat(parts);
}

describe.skipIf(!canMount)('sessiond mounts the SecureFS home with FUSE', () => {
  let st: Stack;
  let c: ProtocolClient;
  let ev: ProtocolClient;
  let events: Message[];
  let alice: number;
  let home: string;

  beforeAll(async () => {
    st = await startStack({ sessiondToml: '[home]\nlocked_wait_ms = 300\n' });
    await writeFile(path.join(st.root.dir, 'session.sh'), SCRIPT);
    await chmod(path.join(st.root.dir, 'session.sh'), 0o755);
    await mkdir(st.root.path('/etc/skel/.config'), { recursive: true });
    await writeFile(st.root.path('/etc/skel/.profile-from-skel'), 'skel content\n');
    await symlink('.profile-from-skel', st.root.path('/etc/skel/.profile-link'));
    c = await st.client();
    ev = await st.client();
    await ev.subscribe(['session', 'home']);
    events = collect(ev);
    alice = uidOf(st.root.dir, 'alice');
    home = st.root.path('/home/alice');
  });
  afterAll(async () => {
    c?.close();
    ev?.close();
    try {
      await st?.cleanup();
    } finally {
      if (home && (await isMounted(home))) await new Promise((r) => execFile('fusermount', ['-uz', home], r));
    }
  });

  const login = async (vt: number) => (await c.request({ type: 'create_session', approval: await st.approve('alice', vt), vt }, 20_000)).session as Record<string, unknown> & { sid: string };

  it('login mounts, the session writes through it, lock parks it, logout unmounts; the store holds ciphertext only', async () => {
    const s = await login(4);
    expect(s.home_mount).toBe(home);
    expect(await isMounted(home)).toBe(true);
    expect(events.find((e) => e.event === 'home' && e.mount === home && e.open === true)).toBeTruthy();
    expect((await c.request({ type: 'current_home' })).home).toMatchObject({ uid: alice, mount: home, open: true });

    await waitFor(() => existsSync(path.join(home, 'fstype')), 10_000, 'the session script');
    expect((await readFile(path.join(home, 'fstype'), 'utf8')).trim()).toMatch(/fuse/);
    expect(await readFile(path.join(home, 'from-session.txt'), 'utf8')).toBe(MARK);
    expect(await readFile(path.join(home, '.profile-from-skel'), 'utf8')).toBe('skel content\n');
    expect(await readlink(path.join(home, '.profile-link'))).toBe('.profile-from-skel'); // skel links stay links
    expect(await readFile(path.join(home, '.profile-link'), 'utf8')).toBe('skel content\n');
    const own = await runAs(alice, `stat -c '%u %a' '${home}' '${home}/from-session.txt' && id -u`);
    expect(own.stdout).toBe(`${alice} 700\n${alice} 644\n${alice}\n`);

    // Locked (lock_domain): the mount stays, requests fail with EACCES after locked_wait_ms.
    await c.request({ type: 'lock', sid: s.sid });
    expect(await isMounted(home)).toBe(true);
    const denied = await runAs(alice, `cat '${home}/from-session.txt'`);
    expect(denied.stderr).toMatch(/Permission denied/);
    await c.request({ type: 'unlock', sid: s.sid, approval: await st.approve('alice', 4, 'unlock') }, 20_000);
    expect((await runAs(alice, `cat '${home}/from-session.txt'`)).stdout).toBe(MARK);

    await c.request({ type: 'logout', sid: s.sid }, 20_000);
    expect(await isMounted(home)).toBe(false);
    expect(events.filter((e) => e.event === 'home').at(-1)).toMatchObject({ open: false, mount: null });
    // The plain directory under the mount has nothing; the store has only ciphertext.
    expect(existsSync(path.join(home, 'from-session.txt'))).toBe(false);
    const store = st.root.path(`/state/secure/home/${alice}`);
    expect(existsSync(path.join(store, 'sfs.conf'))).toBe(true);
    const disk = await allBytes(store);
    expect(disk.includes(MARK)).toBe(false);
    expect(disk.includes('from-session.txt')).toBe(false);

    // A second login sees the file again: it lives in the store.
    const s2 = await login(5);
    await waitFor(() => existsSync(path.join(home, 'seen-again.txt')), 10_000, 'the second session');
    expect(await readFile(path.join(home, 'seen-again.txt'), 'utf8')).toBe(MARK);
    await c.request({ type: 'logout', sid: s2.sid }, 20_000);
    expect(await isMounted(home)).toBe(false);
  });

  it('a sessiond restart re-mounts the home of a re-adopted session', async () => {
    const s = await login(6);
    await waitFor(() => existsSync(path.join(home, 'fstype')), 10_000, 'the session script');
    await st.restartSessiond(true); // SIGKILL: the old mount is left stale (ENOTCONN)
    c.close();
    c = await st.client();
    await waitFor(async () => ((await c.request({ type: 'current_home' })).home as { mount?: unknown } | null)?.mount === home, 15_000, 're-mount');
    expect((await runAs(alice, `cat '${home}/seen-again.txt'`)).stdout).toBe(MARK);
    await c.request({ type: 'logout', sid: s.sid }, 20_000);
    expect(await isMounted(home)).toBe(false);
  });

  it('a locked session re-adopted after sessiond was killed gets a parked mount at once (waits, then EACCES; never ENOTCONN) and its home back at unlock', async () => {
    const s = await login(7);
    await waitFor(() => existsSync(path.join(home, 'fstype')), 10_000, 'the session script');
    await c.request({ type: 'lock', sid: s.sid });
    await st.restartSessiond(true); // SIGKILL: the parked mount dies with it
    c.close();
    c = await st.client();
    const rec = ((await c.request({ type: 'list_sessions' })).sessions as Array<{ sid: string; state: string; home_mount: string | null }>).find((x) => x.sid === s.sid);
    expect(rec).toMatchObject({ state: 'locked', home_mount: home });
    const denied = await runAs(alice, `cat '${home}/from-session.txt'`);
    expect(denied.stderr).toMatch(/Permission denied/);
    expect(denied.stderr).not.toMatch(/not connected/);
    // A reader waiting across the unlock gets the content.
    const waiting = runAs(alice, `sleep 0.1; cat '${home}/from-session.txt'`);
    await c.request({ type: 'unlock', sid: s.sid, approval: await st.approve('alice', 7, 'unlock') }, 20_000);
    expect((await runAs(alice, `cat '${home}/from-session.txt'`)).stdout).toBe(MARK);
    expect((await waiting).stderr).not.toMatch(/not connected/);
    await c.request({ type: 'logout', sid: s.sid }, 20_000);
    expect(await isMounted(home)).toBe(false);
  });
});
