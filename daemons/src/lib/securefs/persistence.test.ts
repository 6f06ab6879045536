import { describe, expect, it } from 'vitest';
import { detectPersistence, parseMountinfo } from './persistence.js';
import { createStore } from './store.js';
import { testKeys } from './insecure-test-support.js';
import { mkdtemp, rm, stat } from 'node:fs/promises';

const MOUNTINFO = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /dev/shm rw,nosuid,nodev shared:2 - tmpfs tmpfs rw
24 22 0:22 / /run rw shared:3 - tmpfs tmpfs rw,mode=755
25 22 8:2 / /state rw,relatime shared:4 - btrfs /dev/sda2 rw
26 25 0:23 / /state/volatile rw shared:5 - ramfs ramfs rw
27 22 0:24 / /my\\040dir rw shared:6 - xfs /dev/sdb rw
28 22 0:25 / /merged rw shared:7 - overlay overlay rw,lowerdir=/lower,upperdir=/state/upper,workdir=/state/work
29 22 0:26 / /weird rw shared:8 - squashfs /dev/loop0 ro
`;

describe('detectPersistence', () => {
  it('classifies mounts from mountinfo (longest prefix wins, escapes decoded, overlay by upperdir)', async () => {
    expect(parseMountinfo(MOUNTINFO)).toHaveLength(8);
    const at = (p: string): Promise<{ persistent: boolean; fsType: string }> => detectPersistence(p, MOUNTINFO);
    expect(await at('/home/x')).toMatchObject({ persistent: true, fsType: 'ext4' });
    expect(await at('/dev/shm/store')).toMatchObject({ persistent: false, fsType: 'tmpfs' });
    expect(await at('/state/secure/home/1000')).toMatchObject({ persistent: true, fsType: 'btrfs' });
    expect(await at('/state/volatile/x')).toMatchObject({ persistent: false, fsType: 'ramfs' });
    expect(await at('/statefoo')).toMatchObject({ fsType: 'ext4' });
    expect(await at('/my dir/a')).toMatchObject({ persistent: true, fsType: 'xfs' });
    expect(await at('/merged/a')).toMatchObject({ persistent: true, fsType: 'overlay' });
    expect(await at('/weird/a')).toMatchObject({ persistent: false, fsType: 'squashfs' });
  });

  it('never claims persistence on /dev/shm and refuses it when required', async () => {
    if (!(await stat('/dev/shm').catch(() => null))) return;
    const p = await detectPersistence('/dev/shm/not-yet-created/store');
    expect(p.persistent).toBe(false);
    const dir = await mkdtemp('/dev/shm/sfs-pers-');
    try {
      const e = await createStore(`${dir}/s`, testKeys('p').provider(), { requirePersistent: true }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'not_persistent' });
      const s = await createStore(`${dir}/s2`, testKeys('p').provider());
      expect(s.persistence.persistent).toBe(false);
      expect(s.rollbackProtected).toBe(true);
      await s.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
