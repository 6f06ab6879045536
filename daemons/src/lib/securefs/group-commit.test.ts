import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from './index-file.js';
import { errorCode, storeDirs, testKeys } from './insecure-test-support.js';
import { Draft } from './store-core.js';
import { createStore, openStore } from './store.js';
import { verifyStore } from './verify.js';

const dirs = storeDirs('group');
afterEach(() => dirs.cleanup());

const names = async (s: { list(p: string): Promise<Array<{ name: string }>> }, p = '/') => (await s.list(p)).map((e) => e.name).sort();

describe('group commit', () => {
  it('concurrent changes share index commits; each resolves once durable; the store verifies', async () => {
    const { dir, store, k } = await dirs.fresh('burst');
    await store.mkdir('/d');
    const before = store.epoch;
    const ops = [
      ...Array.from({ length: 30 }, (_, i) => store.mkdir(`/d/sub${i}`)),
      ...Array.from({ length: 10 }, (_, i) => store.writeFile(`/d/f${i}`, `content ${i}`)),
      ...Array.from({ length: 10 }, (_, i) => store.symlink(`f${i}`, `/d/l${i}`)),
    ];
    await Promise.all(ops);
    // 50 changes, far fewer commits: the mkdirs and links arrive together, the files as each
    // finishes writing its object.
    expect(store.epoch - before).toBeLessThanOrEqual(12);
    expect(await names(store, '/d')).toHaveLength(50);
    await store.close();
    const again = await openStore(dir, k.provider());
    expect(await names(again, '/d')).toHaveLength(50);
    expect((await again.readFile('/d/f7')).toString()).toBe('content 7');
    await again.close();
    expect((await verifyStore(dir, k.provider())).ok).toBe(true);
  });

  it('each change is checked against the changes staged before it, committed or not', async () => {
    const { store } = await dirs.fresh('conflicts');
    await store.writeFile('/a', 'a');
    const twice = await Promise.allSettled([store.mkdir('/x'), store.mkdir('/x')]);
    expect(twice.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const moved = await Promise.allSettled([store.rename('/a', '/b'), store.unlink('/a')]);
    expect(moved[0].status).toBe('fulfilled');
    expect(await errorCode(Promise.reject((moved[1] as PromiseRejectedResult).reason))).toBe('not_found');
    expect(await names(store)).toEqual(['b', 'x']);
    // A refused change inside a group leaves the others alone.
    const mixed = await Promise.allSettled([store.mkdir('/y'), store.rmdir('/nope'), store.mkdir('/z')]);
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await names(store)).toEqual(['b', 'x', 'y', 'z']);
    await store.close();
  });

  it('a failed commit rejects its changes and those staged on top of it; nothing of them is kept', async () => {
    const dir = await dirs.dir();
    const k = testKeys('group-fail');
    const ctl = { failures: 0 };
    const provider = () => {
      const p = k.provider();
      const orig = p.checkpoint!.bind(p);
      p.checkpoint = async (e, h) => {
        if (ctl.failures > 0) {
          ctl.failures--;
          throw new Error('injected');
        }
        return orig(e, h);
      };
      return p;
    };
    const s = await createStore(dir, provider());
    // The first commit is durable but its checkpoint fails; the next commit retries the
    // checkpoint first, fails again, and so fails with `locked`.
    ctl.failures = 2;
    const a = s.mkdir('/a');
    const b = [s.mkdir('/b1'), s.mkdir('/b2')];
    await a;
    const c = s.mkdir('/c'); // staged on top of the failing group, or in it
    const codes = await Promise.all([...b, c].map((p) => errorCode(p)));
    expect(codes).toEqual(['locked', 'locked', 'locked']);
    expect(await names(s)).toEqual(['a']);
    await s.mkdir('/d'); // the checkpoint works again
    expect(await names(s)).toEqual(['a', 'd']);
    await s.close();
    const again = await openStore(dir, provider());
    expect(await names(again)).toEqual(['a', 'd']);
    await again.close();
    expect((await verifyStore(dir, provider())).ok).toBe(true);
  });
});

describe('Draft', () => {
  const dirEntry: Entry = { type: 'dir', mtimeMs: 1, mode: 0o700 };
  it('rolls back everything staged after a mark, and keeps what came before', () => {
    const d = new Draft(new Map<string, Entry>([['/keep', dirEntry]]));
    const m0 = d.mark();
    d.set('/one', dirEntry);
    d.settle();
    const m1 = d.mark();
    d.set('/two', dirEntry);
    d.delete('/keep');
    d.set('/one', { ...dirEntry, mtimeMs: 2 });
    d.release('objects/aa/x.1.sfs');
    expect(d.changedSince(m1)).toBe(true);
    d.rollback(m1);
    expect([...d.entries.keys()].sort()).toEqual(['/keep', '/one']);
    expect(d.lookup('/one')).toBe(dirEntry);
    expect(d.released).toEqual([]);
    expect(d.changedSince(m1)).toBe(false);
    expect(d.changedSince(m0)).toBe(false); // settled: what came before m1 is kept for good
    expect(() => d.set('/', dirEntry)).toThrow(/root/);
  });
});
