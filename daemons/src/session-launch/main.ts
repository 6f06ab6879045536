#!/usr/bin/env node
import { readFileSync, fstatSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launch, LaunchError, parseSpec } from './launch.js';

/**
 * redbear-session-launch [--root DIR] < spec.json
 * Exit codes: the session command's (128+N when killed by signal N); 64 bad spec or usage;
 * 1 setup failed (runtime dir, privilege drop); 127 the command could not be started.
 */
async function main(): Promise<number> {
  try {
    const { values } = parseArgs({ options: { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write('redbear-session-launch [--root DIR] < spec.json — started by redbear-sessiond as root; not for interactive use\n');
      return 0;
    }
    // Every path in the spec is already mapped under --root by sessiond; the flag is accepted for symmetry.
    void values.root;
  } catch (e) {
    process.stderr.write(`redbear-session-launch: ${(e as Error).message}\n`);
    return 64;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('redbear-session-launch: must be started as root\n');
    return 1;
  }
  let status: number | null = 3;
  try {
    fstatSync(3);
  } catch {
    status = null;
  }
  try {
    const spec = parseSpec(readFileSync(0, 'utf8'));
    return await launch(spec, readFileSync(spec.group_file, 'utf8'), status);
  } catch (e) {
    const code = e instanceof LaunchError ? e.exitCode : 1;
    if (status !== null) {
      try {
        const { writeSync } = await import('node:fs');
        writeSync(status, JSON.stringify({ error: (e as Error).message }) + '\n');
      } catch {
        // nobody listening
      }
    }
    return code;
  }
}

process.exitCode = await main();
