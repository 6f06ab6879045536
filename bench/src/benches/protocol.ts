import net from 'node:net';
import path from 'node:path';
import { LineDecoder, encodeLine, validateRequest } from '@redbear/protocol';
import { ProtocolServer, ProtocolClient } from '@redbear/protocol/node';
import type { Bench, BenchRow } from '../types.js';
import { summarize } from '../stats.js';

/** Codec throughput, and hello round trips through the protocol server vs a raw echo server. */
export const bench: Bench = {
  name: 'protocol',
  async run(ctx) {
    const rows: BenchRow[] = [];
    // 1. encode + decode + validate of a typical request, against JSON.stringify+parse alone.
    const msg = { type: 'submit_login', id: 1, username: 'alice', password: 'correct horse battery staple' };
    const n = ctx.quick ? 20_000 : 200_000;
    const d = new LineDecoder();
    let t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const frames = d.push(encodeLine(msg));
      const f = frames[0]!;
      if (f.kind !== 'message' || !validateRequest('greeter', 2, f.value).ok) throw new Error('codec bench: bad frame');
    }
    const oursNs = Number(process.hrtime.bigint() - t) / n;
    t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) JSON.parse(JSON.stringify(msg));
    const refNs = Number(process.hrtime.bigint() - t) / n;
    rows.push({ bench: 'protocol', metric: 'codec encode+decode+validate', ours: 1e9 / oursNs, unit: 'msg/s', reference: 1e9 / refNs, referenceName: 'JSON.stringify+parse', higherIsBetter: true });

    // 2. hello round trip: our server (validation, rate limit, framing) vs raw node:net echo.
    const ourSock = path.join(ctx.tmpDir, 'g.sock');
    const server = new ProtocolServer({
      iface: 'greeter',
      socketPath: ourSock,
      serverName: 'bench',
      rate: { perSecond: 1e9, burst: 1e9 },
      handler: async () => null,
      helloExtra: () => ({ background: '/b', icon: '/i', session_name: 'KDE on Wayland', state: 'greeter_ready', message: '', first_boot: false, hostname: 'h' }),
    });
    await server.listen();
    const echoSock = path.join(ctx.tmpDir, 'echo.sock');
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(echoSock, r));
    const rounds = ctx.quick ? 300 : 5_000;
    const ours: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      const c = await ProtocolClient.connect({ iface: 'greeter', socketPath: ourSock });
      ours.push(Number(process.hrtime.bigint() - t0) / 1e3);
      c.close();
    }
    const raw: number[] = [];
    const line = encodeLine({ type: 'hello', version: 2, id: 1 });
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        const s = net.connect(echoSock, () => s.write(line));
        s.once('data', () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      });
      raw.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    await server.close(100);
    echo.close();
    const a = summarize(ours);
    const b = summarize(raw);
    rows.push({ bench: 'protocol', metric: 'hello round trip p50 (connect+hello)', ours: a.p50, reference: b.p50, referenceName: 'raw echo', unit: 'µs' });
    rows.push({ bench: 'protocol', metric: 'hello round trip p99 (connect+hello)', ours: a.p99, reference: b.p99, referenceName: 'raw echo', unit: 'µs' });
    return rows;
  },
};
