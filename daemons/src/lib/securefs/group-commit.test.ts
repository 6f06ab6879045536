import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from './index-file.js';
import { errorCode, storeDirs, testKeys } from './insecure-test-support.js';
import { Draft, type StoreCore } from './store-core.js';
import { createStore, openStore } from './store.js';
import { verifyStore } from './verify.js';

const dirs = storeDirs('group');
afterEach(() => dirs.cleanup());

const names = async (s: { list(p: string): Promise<Array<{ name: string }>> }, p = '/') => (await s.list(p)).map((e) => e.name).sort();

/** A store whose key provider fails the next `ctl.failures` index checkpoints. */
async function failingStore(seed: string) {
  const dir = await dirs.dir();
  const k = testKeys(seed);
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
  return { dir, ctl, provider, s: await createStore(dir, provider()) };
}

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
    const { dir, ctl, provider, s } = await failingStore('group-fail');
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

  it('a change refused on the strength of a commit that then fails is checked again against the state that is', async () => {
    const { ctl, s } = await failingStore('group-refused');
    // /a is durable but its checkpoint fails; the next commit retries it first and fails.
    ctl.failures = 2;
    await s.mkdir('/a');
    // The second mkdir reads /x from the commit being written: it may say `exists` only if that
    // commit lands. It fails, so the second one runs again and makes /x.
    const writing = await Promise.allSettled([s.mkdir('/x'), s.mkdir('/x')]);
    expect(writing[0].status).toBe('rejected');
    expect(writing[1].status).toBe('fulfilled');
    expect(await names(s)).toEqual(['a', 'x']);

    // The same for a refusal read off changes staged (not yet being written) in the same group.
    ctl.failures = 2;
    await s.mkdir('/b');
    const staged = await Promise.allSettled([s.mkdir('/c'), s.mkdir('/y'), s.mkdir('/y'), s.rmdir('/x'), s.rmdir('/x')]);
    expect(staged.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await names(s)).toEqual(['a', 'b', 'y']);

    // A refusal read off a commit that lands stands.
    const lands = await Promise.allSettled([s.mkdir('/z'), s.mkdir('/z')]);
    expect(lands[0].status).toBe('fulfilled');
    expect(await errorCode(Promise.reject((lands[1] as PromiseRejectedResult).reason))).toBe('exists');
    await s.close();
  });

  it('a change made when a failed commit is reported is based on the state that is, not on the failed one', async () => {
    const { ctl, s } = await failingStore('group-after-fail');
    ctl.failures = 2;
    await s.mkdir('/a');
    // StoreCore.mutate itself, so that the second change is made in the very callback that
    // hears of the failure (SecureStore's async methods would add ticks in between).
    const core = (s as unknown as { core: StoreCore }).core;
    const dir: Entry = { type: 'dir', mtimeMs: 1, mode: 0o700 };
    const makeB = (d: Draft) => {
      if (d.lookup('/b')) throw new Error('/b exists');
      d.set('/b', dir);
    };
    const outcome = await core.mutate(makeB).then(
      () => 'first try',
      () => core.mutate(makeB).then(() => 'second try'),
    );
    expect(outcome).toBe('second try');
    expect(await names(s)).toEqual(['a', 'b']);
    await s.close();
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
