import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtocolClient } from '@redbear/protocol/node';
import { addUser } from '@redbear/daemons/lib/accounts';
import { closeCryptPool, hashPassword } from '@redbear/daemons/lib/crypt';
import { seedRoot } from '@redbear/daemons/supervisor/seed-root';
import { spawnDaemon } from '@redbear/daemons/supervisor/spawn-daemon';
import type { Bench, BenchRow } from '../types.js';
import { summarize } from '../stats.js';

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function listLatencies(c: ProtocolClient, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await c.request({ type: 'list_users' });
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/**
 * redbear-authd under attack: p99 of list_users while 200 clients send wrong passwords (each a
 * full sha512crypt verification — the throttle is relaxed so that no request is cheap), against
 * the same with authd idle; and authd's RSS in both states.
 */
export const bench: Bench = {
  name: 'authd',
  async run(ctx) {
    const root = path.join(ctx.tmpDir, 'root');
    const repoAssets = fileURLToPath(new URL('../../../assets', import.meta.url));
    await seedRoot(root, { assetsDir: repoAssets });
    const users = ctx.quick ? 5 : 20;
    for (let i = 0; i < users; i++) {
      const hash = await hashPassword(Buffer.from(`user${i}-Password`), { scheme: 'sha512crypt', rounds: 5000 });
      await addUser(root, { username: `user${i}`, fullName: `User ${i}`, hash });
    }
    await closeCryptPool();
    const config = path.join(ctx.tmpDir, 'authd.toml');
    writeFileSync(
      config,
      `[hashing]\nsha512_rounds = 5000\n[keystore]\nenabled = false\n[socket]\nmax_connections = 1024\nrequests_per_second = 100000\nburst = 100000\n` +
        `[throttle]\nmax_failures = 1000\nclient_max_failures = 100000\nfailure_delay_ms = 0\n`,
    );
    const main = fileURLToPath(new URL('../authd/main.js', import.meta.resolve('@redbear/daemons/runtime')));
    const d = await spawnDaemon({ name: 'authd', main, args: ['--root', root, '--config', config, '--log-level', 'warn'] });
    const pid = d.child.pid!;
    const socketPath = path.join(root, 'run/redbear-authd.sock');
    const rows: BenchRow[] = [];
    try {
      const probe = await ProtocolClient.connect({ iface: 'auth', socketPath, timeoutMs: 60_000 });
      const n = ctx.quick ? 100 : 500;
      await listLatencies(probe, 20);
      const idle = summarize(await listLatencies(probe, n));
      const rssIdle = rssKiB(pid);

      let stop = false;
      let attempts = 0;
      const attackers = await Promise.all(Array.from({ length: 200 }, () => ProtocolClient.connect({ iface: 'auth', socketPath, timeoutMs: 60_000 })));
      const loops = attackers.map(async (c, i) => {
        while (!stop) {
          await c.request({ type: 'authenticate', username: `user${i % users}`, password: `wrong-${i}`, vt: 1, purpose: 'login' }).catch(() => undefined);
          attempts++;
        }
      });
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      const loaded = summarize(await listLatencies(probe, n));
      const rssLoaded = rssKiB(pid);
      const secs = (Date.now() - t0) / 1000;
      stop = true;
      await Promise.all(loops);
      for (const c of attackers) c.close();
      probe.close();
      ctx.log(`authd: ${attempts} wrong-password attempts during the run (${(attempts / secs).toFixed(0)}/s)`);
      rows.push({
        bench: 'authd',
        metric: 'list_users p99 under 200 wrong-password clients',
        ours: loaded.p99,
        reference: idle.p99,
        referenceName: 'list_users p99 idle',
        unit: 'ms',
        goal: '≤ 1.5',
      });
      rows.push({ bench: 'authd', metric: 'list_users p50 under load', ours: loaded.p50, reference: idle.p50, referenceName: 'idle p50', unit: 'ms' });
      rows.push({ bench: 'authd', metric: 'RSS idle', ours: rssIdle / 1024, unit: 'MiB' });
      rows.push({ bench: 'authd', metric: 'RSS under 200 wrong-password clients', ours: rssLoaded / 1024, unit: 'MiB' });
    } finally {
      await d.stop();
    }
    return rows;
  },
};
