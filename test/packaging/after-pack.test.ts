// electron/build/after-pack.cjs on a fake Electron binary: @electron/fuses finds the fuse wire
// after a sentinel string (node_modules/@electron/fuses/dist/constants.js), then a version
// byte and a length byte, then one byte per fuse ('0' off, '1' on, 'r' removed).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from './helpers.js';

const require = createRequire(import.meta.url);
const { SENTINEL, FuseState } = require(path.join(REPO, 'node_modules/@electron/fuses/dist/constants.js')) as {
  SENTINEL: string;
  FuseState: Record<string, number>;
};
const { FuseV1Options } = require('@electron/fuses') as { FuseV1Options: Record<string, number> };
const afterPack = require(path.join(REPO, 'electron/build/after-pack.cjs')) as ((ctx: unknown) => Promise<void>) & { FUSES: Record<string, unknown> };

const WIRE_LENGTH = 8;
const DEFAULTS = '10110011'; // arbitrary starting states (RunAsNode on, asar-only off, …)

function fakeElectron(file: string): void {
  const pre = Buffer.from('\x7fELF fake electron binary\0'.padEnd(4096, '\0'), 'latin1');
  const wire = Buffer.concat([Buffer.from(SENTINEL, 'latin1'), Buffer.from([1, WIRE_LENGTH]), Buffer.from(DEFAULTS, 'latin1')]);
  writeFileSync(file, Buffer.concat([pre, wire, Buffer.alloc(1024, 0)]), { mode: 0o755 });
}

function wireOf(file: string): string {
  const buf = readFileSync(file);
  const at = buf.indexOf(SENTINEL) + SENTINEL.length;
  expect(buf[at]).toBe(1);
  expect(buf[at + 1]).toBe(WIRE_LENGTH);
  return buf.subarray(at + 2, at + 2 + WIRE_LENGTH).toString('latin1');
}

describe('electron/build/after-pack.cjs', () => {
  let dir: { dir: string; cleanup: () => void };
  beforeAll(() => {
    dir = tempDir('fuses');
  });
  afterAll(() => dir?.cleanup());

  it('flips exactly the configured fuses in the packaged binary', async () => {
    const appOutDir = path.join(dir.dir, 'linux-unpacked');
    mkdirSync(appOutDir, { recursive: true });
    const binary = path.join(appOutDir, 'redbear-greeter-ui');
    fakeElectron(binary);
    const before = readFileSync(binary);
    await afterPack({ appOutDir, electronPlatformName: 'linux', packager: { executableName: 'redbear-greeter-ui' } });
    const wire = wireOf(binary);
    const on = String.fromCharCode(FuseState.ENABLE!);
    const off = String.fromCharCode(FuseState.DISABLE!);
    const expected = DEFAULTS.split('');
    expected[FuseV1Options.RunAsNode!] = off;
    expected[FuseV1Options.EnableCookieEncryption!] = on;
    expected[FuseV1Options.EnableNodeOptionsEnvironmentVariable!] = off;
    expected[FuseV1Options.EnableNodeCliInspectArguments!] = off;
    expected[FuseV1Options.EnableEmbeddedAsarIntegrityValidation!] = on;
    expected[FuseV1Options.OnlyLoadAppFromAsar!] = on;
    expect(wire).toBe(expected.join(''));
    // Fuses 6 and 7 (V8 snapshot, file protocol privileges) are left as they were.
    expect(wire.slice(6)).toBe(DEFAULTS.slice(6));
    // Nothing else in the file changed.
    const after = readFileSync(binary);
    expect(after.length).toBe(before.length);
    const diff = [...after].flatMap((b, i) => (b === before[i] ? [] : [i]));
    const wireStart = before.indexOf(SENTINEL) + SENTINEL.length + 2;
    expect(diff.every((i) => i >= wireStart && i < wireStart + 6)).toBe(true);
  });

  it('fails loudly on a binary without fuses, and on non-Linux builds', async () => {
    const appOutDir = path.join(dir.dir, 'nofuse');
    mkdirSync(appOutDir, { recursive: true });
    writeFileSync(path.join(appOutDir, 'redbear-greeter-ui'), 'not electron');
    await expect(afterPack({ appOutDir, electronPlatformName: 'linux', packager: { executableName: 'redbear-greeter-ui' } })).rejects.toThrow(/sentinel/);
    await expect(afterPack({ appOutDir, electronPlatformName: 'darwin', packager: { executableName: 'x' } })).rejects.toThrow(/Linux/);
  });
});
