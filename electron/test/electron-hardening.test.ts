import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isBlockedChord, kioskWindowOptions } from '../src/main/window-options.js';
import { validateCall, BadCallError } from '../src/common/validate-call.js';

const require = createRequire(import.meta.url);
const repo = path.resolve(import.meta.dirname, '../..');

describe('Electron hardening', () => {
  it('electronegativity finds nothing high or medium in the built main and preload', async () => {
    const run = require('@doyensec/electronegativity/dist/runner.js') as (o: object) => Promise<{ issues: Array<{ id: string; severity: { name: string }; file: string; location: { line: number } }> }>;
    // Offline here: electronegativity cannot fetch Electron's release list, so name the version.
    const electronVersion = (JSON.parse(readFileSync(path.join(repo, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
    const r = await run({ input: path.join(repo, 'electron/dist'), electronVersionOverride: electronVersion });
    const serious = r.issues.filter((i) => ['HIGH', 'MEDIUM', 'CRITICAL'].includes(i.severity.name)).map((i) => `${i.id} ${i.severity.name} ${i.file}:${i.location.line}`);
    expect(serious).toEqual([]);
  }, 120_000);

  it('keeps webPreferences inline and locked down in main.ts', () => {
    const src = readFileSync(path.join(repo, 'electron/src/main/main.ts'), 'utf8');
    for (const line of ['sandbox: true', 'contextIsolation: true', 'nodeIntegration: false', 'webSecurity: true', 'webviewTag: false', 'devTools: !production']) expect(src).toContain(line);
    expect(src).not.toMatch(/ipcRenderer|remote/);
    const pre = readFileSync(path.join(repo, 'electron/src/preload/preload.cts'), 'utf8');
    expect(pre).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
    expect(pre).toMatch(/exposeInMainWorld\('greeter'/);
  });

  it('window options: frameless fullscreen kiosk over black, not closable in production', () => {
    const o = kioskWindowOptions({ x: 0, y: 0, width: 800, height: 600 }, true);
    expect(o).toMatchObject({ frame: false, fullscreen: true, kiosk: true, show: false, backgroundColor: '#000000', closable: false });
  });

  it('blocks closing, reloading and inspecting chords', () => {
    const k = (key: string, m: Partial<{ control: boolean; alt: boolean; shift: boolean; meta: boolean }> = {}) => isBlockedChord({ key, control: false, alt: false, shift: false, meta: false, ...m });
    expect(k('F4', { alt: true })).toBe(true);
    expect(k('w', { control: true })).toBe(true);
    expect(k('I', { control: true, shift: true })).toBe(true);
    expect(k('F5')).toBe(true);
    expect(k('a')).toBe(false);
    expect(k('Tab')).toBe(false);
  });

  it('validates every renderer call', () => {
    expect(validateCall('login', ['alice', 'pw'])).toEqual({ method: 'login', args: ['alice', 'pw'] });
    expect(() => validateCall('__proto__', [])).toThrow(BadCallError);
    expect(() => validateCall('login', ['alice', 42])).toThrow(BadCallError);
    expect(() => validateCall('login', ['alice', 'x'.repeat(5000)])).toThrow(BadCallError);
    expect(() => validateCall('unlock', ['s', 'pw', 'fingerprint'])).toThrow(BadCallError);
    expect(() => validateCall('reportScreen', ['greeter', { password: 'x' }])).toThrow(BadCallError);
    expect(validateCall('reportScreen', ['lock', { username: 'alice' }]).args).toEqual(['lock', { username: 'alice' }]);
  });
});
