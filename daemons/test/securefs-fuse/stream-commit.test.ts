import { randomBytes } from 'node:crypto';
import { open as fsOpen, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/securefs/index.js';
import { canMount } from './can-mount.js';
import { cleanupMounts, heldWriter, ok, run, setupMount } from './fixture.js';

/**
 * Commits of a version being streamed through the mount, under failure and delay (found by
 * review): nothing acknowledged is ever silently lost or read back as the old version.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(cleanupMounts);

/** A mount whose key providers' checkpoints can be delayed or refused (`ctl`), errors collected. */
async function setup(maxFileBuffer: number) {
  const ctl = { delayMs: 0, failures: 0 };
  const errors: string[] = [];
  const fx = await setupMount('sfs-rev-', { maxFileBuffer, onError: (e, c) => errors.push(`${c.op} ${c.path}: ${e.message}`) }, (p) => {
    const orig = p.checkpoint!.bind(p);
    p.checkpoint = async (e, h) => {
      if (ctl.delayMs) await sleep(ctl.delayMs);
      if (ctl.failures > 0) {
        ctl.failures--;
        throw new Error('provider refused (injected)');
      }
      return orig(e, h);
    };
    return p;
  });
  return { ...fx, ctl, errors };
}

describe.skipIf(!canMount)('securefs-fuse: committing a streamed version', () => {
  it('while a stream commit waits behind a slow index commit, getattr and reads see the new content, not the old version', async () => {
    const { base, mnt, ctl, m } = await setup(1 << 20);
    const p1 = randomBytes(2 << 20);
    await writeFile(path.join(base, 'p1'), p1);
    await writeFile(path.join(base, 'p2'), Buffer.alloc(0));
    const writer = (await heldWriter(base, `${mnt}/f`, [`${base}/p1`], [`${base}/p2`])).done;
    expect(m.stats.streamingFiles).toBe(1);
    await sleep(1200); // let the kernel's attr cache (1 s) expire
    ctl.delayMs = 3000; // every index commit now holds the store's exclusive lock for 3 s
    const mk = run(`mkdir '${mnt}/d'`, { timeoutMs: 30_000 });
    await sleep(200);
    const r1 = run(`dd if='${mnt}/f' bs=4096 count=1 2>/dev/null | wc -c`, { timeoutMs: 30_000 }); // triggers endStream, waits
    await sleep(1300); // attr of f cached by r1's open at most until now
    const st = await ok(`stat -c %s '${mnt}/f'; dd if='${mnt}/f' bs=65536 skip=16 count=1 2>/dev/null | wc -c`, { timeoutMs: 30_000 });
    ctl.delayMs = 0;
    await mk;
    expect((await r1).stdout.trim()).toBe('4096');
    await writeFile(path.join(base, 'go'), '');
    await writer;
    expect(st.trim().split('\n')).toEqual([String(2 << 20), '65536']);
  }, 60_000);

  it('a commit that fails after another process triggered it: the writer gets EIO, and no zeros replace what it wrote', async () => {
    const { base, mnt, ctl, store, errors, m } = await setup(8 << 20);
    const p1 = randomBytes(200_000);
    const p2 = randomBytes(100_000);
    await writeFile(path.join(base, 'p1'), p1);
    await writeFile(path.join(base, 'p2'), p2);
    const writer = (await heldWriter(base, `${mnt}/g`, [`${base}/p1`], [`${base}/p2`])).done;
    ctl.failures = 2;
    await ok(`mkdir '${mnt}/x'`); // durable; its checkpoint fails (swallowed, retried by the next commit)
    await run(`cat '${mnt}/g' > /dev/null`); // read → endStream → commit → the checkpoint retry fails
    expect(m.stats.streamingFiles).toBe(0);
    await writeFile(path.join(base, 'go'), '');
    const w = await writer;
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/EIO|input\/output error/i);
    expect(errors.some((e) => e.includes('injected'))).toBe(true);
    const got = await store.readFile('/g');
    expect(got.length === 0 || got.subarray(0, p1.length).equals(p1)).toBe(true);
  }, 60_000);

  it('a stream commit still in fsync when the home is locked finishes before the store closes', async () => {
    const fx = await setupMount('sfs-rev-', { maxFileBuffer: 1 << 20 });
    const { base, mnt, storeDir, keys, m, store: s1 } = fx;
    const fh = await fsOpen('/dev/null');
    const proto = Object.getPrototypeOf(fh) as { sync: () => Promise<void> };
    await fh.close();
    const origSync = proto.sync;
    let slow = false;
    proto.sync = async function (this: unknown) {
      if (slow) {
        slow = false;
        await sleep(12_000);
      }
      return origSync.call(this);
    };
    try {
      await writeFile(path.join(base, 'p1'), randomBytes(2 << 20));
      const writer = (await heldWriter(base, `${mnt}/big`, [`${base}/p1`])).done;
      slow = true;
      await writeFile(path.join(base, 'go'), '');
      await sleep(500); // the writer's close → flush → endStream → WriteSession.commit → fsync (slow)
      const t0 = Date.now();
      await m.detach(); // drain times out after 10 s
      expect(Date.now() - t0).toBeGreaterThan(5000); // detach waited for the commit
      await s1.close();
      await sleep(2500); // the commit reaches exclusive → closed; run() waits for attach
      const s2 = await openStore(storeDir, keys());
      fx.store = s2; // closed by cleanupMounts
      m.attach(s2);
      const w = await writer;
      expect(w.code).toBe(0);
      expect((await s2.stat('/big')).size).toBe(2 << 20);
    } finally {
      proto.sync = origSync;
    }
  }, 60_000);
});
