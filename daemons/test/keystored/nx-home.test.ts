import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../../../test/harness/index.js';
import { createStore } from '../../src/lib/securefs/index.js';
import { remoteKeyProvider } from '../../src/lib/keystore-client/index.js';
import { nxHome, pw, startEnv, type Env } from './helpers.js';

const BIN = path.join(REPO, 'cli/bin/nx-home');

function objectFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.sfs')) out.push(p);
    }
  };
  walk(path.join(dir, 'objects'));
  return out;
}

describe.skipIf(!statSync(BIN, { throwIfNoEntry: false }) || !statSync(path.join(REPO, 'cli/dist/nx-home/main.js'), { throwIfNoEntry: false }))('nx-home', () => {
  let env: Env;
  let token: string;
  let recoveryKey: string;
  let storeDir: string;
  beforeAll(async () => {
    env = await startEnv();
    appendFileSync(env.root.path('/etc/passwd'), 'alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n');
    ({ recoveryKey } = await env.client.enroll(1000, 'alice', pw('alice password')));
    const { grant } = await env.client.unlock(1000, pw('alice password'), 'password');
    const s = await env.client.openSession(grant, 'desktop-1');
    token = s.token;
    storeDir = env.root.path('/state/secure/home/1000');
    const store = await createStore(storeDir, remoteKeyProvider(env.client, token, s.storeId));
    await store.mkdir('/docs');
    await store.writeFile('/docs/big.bin', Buffer.alloc(200_000, 7));
    await store.close();
  });
  afterAll(async () => {
    await env.cleanup();
  });
  const R = () => ['--root', env.root.dir];

  it('status reports record, store, unlocked and persistence', async () => {
    const r = await nxHome([...R(), '--json', 'status', 'alice']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ uid: 1000, store_exists: true, record_exists: true, unlocked: true, open_sessions: 1, home_uri: 'state:/secure/home/1000/' });
    expect(typeof j.persistent).toBe('boolean');
    expect((await nxHome([...R(), 'status', 'no-such-user'])).code).toBe(4);
    expect((await nxHome([...R(), 'frobnicate', 'alice'])).code).toBe(2);
  });

  it('put / get / ls through an unlocked session (token on stdin)', async () => {
    const put = await nxHome([...R(), 'put', 'alice', '/docs/note.txt', '--token-stdin'], `${token}\nhello from stdin\n`);
    expect(put.code, put.err).toBe(0);
    const get = await nxHome([...R(), 'get', '1000', '/docs/note.txt', '--token-stdin'], `${token}\n`);
    expect(get.code, get.err).toBe(0);
    expect(get.out).toBe('hello from stdin\n');
    const ls = await nxHome([...R(), 'ls', 'alice', '/docs', '--token-stdin'], `${token}\n`);
    expect(ls.out).toMatch(/big\.bin/);
    expect(ls.out).toMatch(/note\.txt/);
    expect((await nxHome([...R(), 'get', 'alice', '/missing', '--token-stdin'], `${token}\n`)).code).toBe(4);
    expect((await nxHome([...R(), 'get', 'alice', '/docs/note.txt', '--token-stdin'], `not.atoken\n`)).code).toBe(3);
  });

  it('verify with a token or the recovery key; a wrong recovery key is denied', async () => {
    const a = await nxHome([...R(), 'verify', 'alice', '--token-stdin'], `${token}\n`);
    expect(a.code, a.err + a.out).toBe(0);
    expect(a.out).toMatch(/^OK: epoch \d+, 2 files, 1 dirs/);
    const b = await nxHome([...R(), 'verify', 'alice', '--recovery-stdin'], `${recoveryKey}\n`);
    expect(b.code, b.err).toBe(0);
    const wrong = recoveryKey.replace(/^..../, 'AAAA');
    expect((await nxHome([...R(), 'verify', 'alice', '--recovery-stdin'], `${wrong}\n`)).code).toBe(3);
  });

  it('verify reports tampering precisely (exit 1)', async () => {
    const big = objectFiles(storeDir).sort((x, y) => statSync(y).size - statSync(x).size)[0]!;
    const bytes = readFileSync(big);
    bytes[80 + 70_000]! ^= 0x40; // a byte inside the second chunk
    writeFileSync(big, bytes);
    const r = await nxHome([...R(), 'verify', 'alice', '--token-stdin'], `${token}\n`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/ERROR integrity\/chunk_tag path=\/docs\/big\.bin object=\S+ chunk=1/);
  });

  it('after lock_user the session is refused (exit 3)', async () => {
    await env.client.lockUser(1000);
    const r = await nxHome([...R(), 'ls', 'alice', '/', '--token-stdin'], `${token}\n`);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/locked/);
  });
});
