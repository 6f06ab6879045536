import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, chownSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProtocolClient } from '@redbear/protocol/node';
import { seedRoot } from '@redbear/daemons/supervisor/seed-root';
import { spawnDaemon, type SpawnedDaemon } from '@redbear/daemons/supervisor/spawn-daemon';
import type { Bench, BenchRow } from '../types.js';
import { summarize } from '../stats.js';

/**
 * sessiond, against the real keystored + authd + session launcher:
 * 1. approval → session command running, vs the same command through
 *    `setpriv --reuid --regid --init-groups` (ratio);
 * 2. lock request → lock event delivered (p50/p99);
 * 3. fast user switch latency (activate of a locked session, approval in hand) p50/p99.
 */
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../daemons/dist');

function addUser(root: string, name: string, uid: number, password: string, groups: string[]): void {
  const hash = execFileSync('mkpasswd', ['-m', 'sha-512', '-R', '5000', '--stdin'], { input: password, encoding: 'utf8' }).trim();
  appendFileSync(path.join(root, 'etc/passwd'), `${name}:x:${uid}:${uid}:${name},,,:/home/${name}:/bin/sh\n`);
  appendFileSync(path.join(root, 'etc/shadow'), `${name}:${hash}:19500:0:99999:7:::\n`);
  let group = readFileSync(path.join(root, 'etc/group'), 'utf8') + `${name}:x:${uid}:\n`;
  for (const g of groups) group = group.replace(new RegExp(`^(${g}:[^:]*:[0-9]+:)(.*)$`, 'm'), (_m, h: string, mem: string) => `${h}${mem ? mem + ',' : ''}${name}`);
  writeFileSync(path.join(root, 'etc/group'), group);
  appendFileSync(path.join(root, 'etc/gshadow'), `${name}:!::\n`);
  mkdirSync(path.join(root, 'home', name), { recursive: true, mode: 0o700 });
  chownSync(path.join(root, 'home', name), uid, uid);
}

async function waitFile(file: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setImmediate(r));
  }
}

export const bench: Bench = {
  name: 'sessiond',
  async run(ctx) {
    if (process.getuid?.() !== 0) return [{ bench: 'sessiond', metric: 'skipped (needs root)', ours: NaN, unit: '' }];
    const root = path.join(ctx.tmpDir, 'root');
    mkdirSync(root, { recursive: true, mode: 0o755 });
    chmodSync(ctx.tmpDir, 0o755);
    await seedRoot(root);
    addUser(root, 'alice', 1000, 'alice-Secret-42', ['video', 'audio']);
    addUser(root, 'bob', 1001, 'bob-Secret-42', ['video']);
    const refDir = path.join(ctx.tmpDir, 'ref');
    mkdirSync(refDir, { mode: 0o777 });
    chmodSync(refDir, 0o777);
    const marker = path.join(refDir, 'started');
    const script = path.join(ctx.tmpDir, 'session.sh');
    writeFileSync(script, `#!/bin/sh\n: > "$HOME/started"\ntrap 'exit 0' TERM\nsleep 600 &\nwait\n`);
    chmodSync(script, 0o755);
    const cfg = (name: string, text: string) => {
      const f = path.join(ctx.tmpDir, `${name}.toml`);
      writeFileSync(f, text);
      return f;
    };
    const daemons: SpawnedDaemon[] = [];
    const start = async (name: string, toml: string) => {
      // RB_BENCH_DAEMON_LOG=<regexp>: mirror the daemons' log lines that match (e.g. "session started" carries a login's timing).
      const show = process.env.RB_BENCH_DAEMON_LOG ? new RegExp(process.env.RB_BENCH_DAEMON_LOG) : null;
      const d = await spawnDaemon({
        name,
        main: path.join(DIST, name, 'main.js'),
        args: ['--root', root, '--config', cfg(name, toml)],
        ...(show ? { onLine: (_stream: 'stdout' | 'stderr', line: string) => show.test(line) && ctx.log(`${name}: ${line}`) } : {}),
      });
      daemons.push(d);
    };
    const rows: BenchRow[] = [];
    try {
      await start('keystored', '[password_kdf]\nmemory_kib = 8192\ntime_cost = 1\nparallelism = 1\n');
      await start('authd', '[hashing]\nsha512_rounds = 5000\n[throttle]\nfailure_delay_ms = 0\n');
      await start('sessiond', `[session]\ncommand = ["${script}"]\ndbus_run_session = ""\nlogout_grace_ms = 1000\n[lock]\nidle_timeout_s = 0\n[vt]\nswitch_command = []\n`);
      const sock = (n: string) => path.join(root, 'run', n);
      const approve = async (user: string, vt: number, purpose: 'login' | 'unlock') => {
        const c = await ProtocolClient.connect({ iface: 'auth', socketPath: sock('redbear-authd.sock') });
        try {
          return (await c.request({ type: 'authenticate', username: user, password: `${user}-Secret-42`, vt, purpose }, 30_000)).approval as string;
        } finally {
          c.close();
        }
      };
      const s = await ProtocolClient.connect({ iface: 'session', socketPath: sock('redbear-sessiond.sock') });
      const events: Array<Record<string, unknown>> = [];
      await s.subscribe(['lock']);
      s.on('event', (e: Record<string, unknown>) => events.push(e));
      const homeMarker = path.join(root, 'home/alice/started');
      const n = ctx.quick ? 3 : 15;
      const ours: number[] = [];
      for (let i = 0; i < n; i++) {
        const approval = await approve('alice', 4, 'login');
        execFileSync('rm', ['-f', homeMarker]);
        const t0 = process.hrtime.bigint();
        const r = await s.request({ type: 'create_session', approval, vt: 4 }, 30_000);
        await waitFile(homeMarker);
        ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await s.request({ type: 'logout', sid: (r.session as { sid: string }).sid }, 30_000);
      }
      const ref: number[] = [];
      for (let i = 0; i < n; i++) {
        execFileSync('rm', ['-f', marker]);
        const t0 = process.hrtime.bigint();
        const child = spawn('setpriv', ['--reuid=1000', '--regid=1000', '--init-groups', '--', '/bin/sh', '-c', `: > ${marker}; sleep 600`], { stdio: 'ignore', detached: true });
        await waitFile(marker);
        ref.push(Number(process.hrtime.bigint() - t0) / 1e6);
        process.kill(-child.pid!, 'SIGKILL');
      }
      const a = summarize(ours);
      const b = summarize(ref);
      rows.push({ bench: 'sessiond', metric: 'approval → session command running p50', ours: a.p50, reference: b.p50, referenceName: 'setpriv --init-groups', unit: 'ms', note: 'ours includes keystore session, SecureFS home open, runtime dir, privilege drop' });
      // Lock latency and switch latency with two sessions.
      const sa = (await s.request({ type: 'create_session', approval: await approve('alice', 4, 'login'), vt: 4 }, 30_000)).session as { sid: string };
      const sb = (await s.request({ type: 'create_session', approval: await approve('bob', 5, 'login'), vt: 5 }, 30_000)).session as { sid: string };
      const lockLat: number[] = [];
      const switchLat: number[] = [];
      let current = sb.sid;
      for (let i = 0; i < n * 2; i++) {
        events.length = 0;
        const t0 = process.hrtime.bigint();
        await s.request({ type: 'lock', sid: current });
        while (!events.some((e) => (e.session as { sid: string }).sid === current)) await new Promise((r) => setImmediate(r));
        lockLat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const target = current === sa.sid ? sb.sid : sa.sid;
        const other = current;
        // Unlock `other` back to active, then time the switch to `target` (approval in hand).
        await s.request({ type: 'unlock', sid: other, approval: await approve(other === sa.sid ? 'alice' : 'bob', other === sa.sid ? 4 : 5, 'unlock') }, 30_000);
        const ap = await approve(target === sa.sid ? 'alice' : 'bob', target === sa.sid ? 4 : 5, 'unlock');
        const t1 = process.hrtime.bigint();
        await s.request({ type: 'activate', sid: target, approval: ap }, 30_000);
        switchLat.push(Number(process.hrtime.bigint() - t1) / 1e6);
        current = target;
      }
      const l = summarize(lockLat);
      const w = summarize(switchLat);
      rows.push({ bench: 'sessiond', metric: 'lock request → lock event p50', ours: l.p50, unit: 'ms' });
      rows.push({ bench: 'sessiond', metric: 'lock request → lock event p99', ours: l.p99, unit: 'ms' });
      rows.push({ bench: 'sessiond', metric: 'switch (activate) p50', ours: w.p50, unit: 'ms', note: 'approval in hand; locks one, unlocks + reopens the other home' });
      rows.push({ bench: 'sessiond', metric: 'switch (activate) p99', ours: w.p99, unit: 'ms' });
      for (const sid of [sa.sid, sb.sid]) await s.request({ type: 'logout', sid }, 30_000);
      s.close();
    } finally {
      for (const d of daemons.reverse()) await d.stop();
    }
    return rows;
  },
};
