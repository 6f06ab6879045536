import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../../../test/harness/index.js';
import { createStore } from '../../src/lib/securefs/index.js';
import { remoteKeyProvider } from '../../src/lib/keystore-client/index.js';
import { nxHome, pw, startEnv, type Env } from './helpers.js';

const BIN = path.join(REPO, 'cli/bin/nx-home');

describe.skipIf(!statSync(BIN, { throwIfNoEntry: false }) || !statSync(path.join(REPO, 'cli/dist/nx-home/main.js'), { throwIfNoEntry: false }))('nx-home and symlinks', () => {
  let env: Env;
  let token: string;
  beforeAll(async () => {
    env = await startEnv();
    appendFileSync(env.root.path('/etc/passwd'), 'bob:x:1001:1001:Bob,,,:/home/bob:/bin/bash\n');
    await env.client.enroll(1001, 'bob', pw('bob password'));
    const { grant } = await env.client.unlock(1001, pw('bob password'), 'password');
    const s = await env.client.openSession(grant, 'desktop-1');
    token = s.token;
    const store = await createStore(env.root.path('/state/secure/home/1001'), remoteKeyProvider(env.client, token, s.storeId));
    await store.mkdir('/.config');
    await store.writeFile('/.config/app.conf', 'x=1\n');
    await store.symlink('app.conf', '/.config/current');
    await store.symlink('/var/lib/flatpak/exports/share', '/.config/flatpak-share');
    await store.close();
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  const R = () => ['--root', env.root.dir];

  it('ls shows links as `l 0777 size mtime name -> target`; --json carries type and target', async () => {
    const ls = await nxHome([...R(), 'ls', 'bob', '/.config', '--token-stdin'], `${token}\n`);
    expect(ls.code, ls.err).toBe(0);
    const lines = ls.out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^- 0600 +4 \S+ app\.conf$/);
    expect(lines[1]).toMatch(/^l 0777 +8 \S+ current -> app\.conf$/);
    expect(lines[2]).toMatch(/^l 0777 +30 \S+ flatpak-share -> \/var\/lib\/flatpak\/exports\/share$/);
    const js = await nxHome([...R(), '--json', 'ls', 'bob', '/.config', '--token-stdin'], `${token}\n`);
    expect(js.code, js.err).toBe(0);
    const entries = JSON.parse(js.out) as Array<{ name: string; type: string; target?: string; size: number; mode: number }>;
    expect(entries.find((e) => e.name === 'current')).toMatchObject({ type: 'symlink', target: 'app.conf', size: 8, mode: 0o777 });
  });

  it('verify counts links; get of a link is refused (the store never follows links)', async () => {
    const v = await nxHome([...R(), 'verify', 'bob', '--token-stdin'], `${token}\n`);
    expect(v.code, v.err + v.out).toBe(0);
    expect(v.out).toMatch(/^OK: epoch \d+, 1 files, 1 dirs, 2 symlinks, 1 chunks authenticated$/m);
    const get = await nxHome([...R(), 'get', 'bob', '/.config/current', '--token-stdin'], `${token}\n`);
    expect(get.code).not.toBe(0);
    expect(get.err).toMatch(/is_symlink/);
    expect(get.out).toBe('');
  });
});
