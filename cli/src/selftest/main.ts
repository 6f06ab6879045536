import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ProtocolError } from '@redbear/protocol';
import type { ProtocolClient } from '@redbear/protocol/node';
import { EventLog, Fail, cleanup, connect, lockFlow, oobeFlow, securefsFlow, switchFlow, type Ctx } from './flows.js';
import { applyStackSet, stackConfigs, startStack, type Stack } from './stack.js';

/**
 * redbear-selftest (TASK-0224 item 6): run the login flows for real against a stack and print
 * each seed marker only after the outcome was verified independently. Docs: docs/tools/redbear-selftest.md.
 */
export const EXIT = { ok: 0, failed: 1, usage: 64, unavailable: 69 } as const;

const USAGE = `Usage: redbear-selftest [--root DIR | --start-stack] [--json] [options]

  --root DIR            the stack's root (default /): sockets under DIR/run, state under DIR/state
  --start-stack         start the four daemons in a fresh temporary root (first boot, test-safe
                        commands) and stop them afterwards
  --stack-set D.K=V     with --start-stack: set key K of daemon D's configuration to the JSON
                        value V (e.g. sessiond.lock.policy='"keep_open"'); repeatable
  --keep                keep what the run created (sessions, users, the temporary root)
  --timeout MS          per-request timeout (default 30000)
  --json                one JSON document on stdout instead of the marker lines
  -h, --help            this text

Markers (stdout), each printed only after its outcome was verified:
  SELFTEST: oobe create+login ok
  SELFTEST: session lock+unlock ok
  SELFTEST: session switch ok
  SELFTEST: securefs home ok | SELFTEST: securefs home SKIPPED (<reason>)
A failed flow prints SELFTEST: <flow> FAILED (<reason>) instead.
Exit codes: 0 every flow ok (securefs ok or skipped), 1 a flow failed, 64 usage,
69 the stack could not be started or reached.`;

export interface FlowResult {
  flow: string;
  status: 'ok' | 'failed' | 'skipped';
  line: string;
  reason?: string;
}

const FLOWS = [
  { key: 'oobe', name: 'oobe create+login', run: oobeFlow },
  { key: 'lock', name: 'session lock+unlock', run: lockFlow },
  { key: 'switch', name: 'session switch', run: switchFlow },
] as const;

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 400);

export async function run(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string' },
        'start-stack': { type: 'boolean', default: false },
        'stack-set': { type: 'string', multiple: true, default: [] },
        keep: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '30000' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`redbear-selftest: ${(e as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (v.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const usage = (msg: string) => {
    process.stderr.write(`redbear-selftest: ${msg}\n${USAGE}\n`);
    return EXIT.usage;
  };
  const timeoutMs = Number(v.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100) return usage('--timeout takes milliseconds >= 100');
  if (v['start-stack'] && v.root !== undefined) return usage('--root and --start-stack exclude each other');
  if (!v['start-stack'] && (v['stack-set'] ?? []).length) return usage('--stack-set needs --start-stack');
  const json = v.json ?? false;
  const detail = (flow: string, text: string) => {
    if (!json) out(`selftest: ${flow}: ${oneLine(text)}`);
  };

  let stack: Stack | null = null;
  let root = path.resolve(v.root ?? '/');
  if (v['start-stack']) {
    const configs = stackConfigs();
    try {
      for (const s of v['stack-set'] ?? []) applyStackSet(configs, s);
    } catch (e) {
      return usage((e as Error).message);
    }
    try {
      stack = await startStack(configs, (s) => detail('stack', s));
    } catch (e) {
      const msg = `SELFTEST: stack FAILED (${oneLine((e as Error).message)})`;
      if (json) out(JSON.stringify({ ok: false, root: null, results: [{ flow: 'stack', status: 'failed', line: msg }] }, null, 2));
      else out(msg);
      return EXIT.unavailable;
    }
    root = stack.root;
    detail('stack', `temporary root ${root}`);
  }

  const p = (abs: string) => (root === '/' ? abs : path.join(root, abs));
  const results: FlowResult[] = [];
  const clients: ProtocolClient[] = [];
  let code: number = EXIT.ok;
  let ctx: Ctx | null = null;
  try {
    // Subscriptions first, so no event of the flows is missed.
    let greeter: ProtocolClient;
    let query: ProtocolClient;
    try {
      greeter = await connect({ p }, 'greeter');
      clients.push(greeter);
      query = await connect({ p }, 'query');
      clients.push(query);
      const c: Ctx = {
        root,
        p,
        recording: stack !== null && !(v['stack-set'] ?? []).some((s) => s.startsWith('sessiond.session.command=')),
        detail,
        timeoutMs,
        greeterEvents: new EventLog(greeter),
        sessionEvents: new EventLog(query),
        created: { users: [], sids: [] },
      };
      await greeter.subscribe(['state', 'lock', 'unlock']);
      await query.subscribe(['session', 'lock', 'session_ended', 'home']);
      ctx = c;
    } catch (e) {
      const msg = `SELFTEST: stack FAILED (${oneLine(e instanceof ProtocolError ? `${e.code}: ${e.message}` : (e as Error).message)})`;
      results.push({ flow: 'stack', status: 'failed', line: msg });
      if (!json) out(msg);
      code = EXIT.unavailable;
    }
    if (ctx) {
      for (const f of FLOWS) {
        try {
          await f.run(ctx);
          const line = `SELFTEST: ${f.name} ok`;
          results.push({ flow: f.key, status: 'ok', line });
          if (!json) out(line);
        } catch (e) {
          const reason = oneLine(e instanceof Fail ? e.message : e instanceof ProtocolError ? `${e.code}: ${e.message}` : `internal error: ${(e as Error).stack ?? String(e)}`);
          const line = `SELFTEST: ${f.name} FAILED (${reason})`;
          results.push({ flow: f.key, status: 'failed', line, reason });
          if (!json) out(line);
          code = EXIT.failed;
        }
      }
      try {
        const r = await securefsFlow(ctx);
        const line = r.status === 'ok' ? `SELFTEST: securefs home ok${r.reason ? ` (${r.reason})` : ''}` : `SELFTEST: securefs home SKIPPED (${r.reason})`;
        results.push({ flow: 'securefs', status: r.status, line, ...(r.reason ? { reason: r.reason } : {}) });
        if (!json) out(line);
      } catch (e) {
        const reason = oneLine(e instanceof Fail ? e.message : e instanceof ProtocolError ? `${e.code}: ${e.message}` : `internal error: ${(e as Error).message}`);
        const line = `SELFTEST: securefs home FAILED (${reason})`;
        results.push({ flow: 'securefs', status: 'failed', line, reason });
        if (!json) out(line);
        code = EXIT.failed;
      }
    }
  } finally {
    for (const c of clients) c.close();
    if (ctx && !v.keep) {
      const problems = await cleanup(ctx, stack === null);
      for (const pr of problems) detail('cleanup', pr);
    }
    if (stack) {
      await stack.stop(v.keep ?? false);
      if (v.keep) detail('stack', `kept the root ${stack.root}`);
    }
  }
  if (json) out(JSON.stringify({ ok: code === EXIT.ok, root: stack && !v.keep ? null : root, results }, null, 2));
  return code;
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await run(process.argv.slice(2));
}
