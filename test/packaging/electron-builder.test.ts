// electron/electron-builder.json (validated against app-builder-lib's own schema), the staged
// system tree the deb maps in, and the deb maintainer scripts run against stub commands.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNITS } from '../../scripts/install.mjs';
import { REPO, run, runInstall, tempDir } from './helpers.js';

const ELECTRON = path.join(REPO, 'electron');
const config = JSON.parse(readFileSync(path.join(ELECTRON, 'electron-builder.json'), 'utf8'));
const schema = JSON.parse(readFileSync(path.join(REPO, 'node_modules/app-builder-lib/scheme.json'), 'utf8'));
const UI_BINARY = `/opt/${config.productName}/${config.executableName}`;

describe('electron-builder.json', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

  it('is valid against app-builder-lib/scheme.json', () => {
    expect(schema.$schema).toMatch(/draft-07/);
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check bites on a typo', () => {
    expect(validate({ ...config, deb: { ...config.deb, depnds: [] } })).toBe(false);
  });

  it('builds the kiosk UI as asar with the fuse hook, deb and AppImage', () => {
    expect(config).toMatchObject({ appId: 'org.redbear.greeter', executableName: 'redbear-greeter-ui', asar: true, afterPack: 'build/after-pack.cjs' });
    expect(config.linux.target).toEqual(['deb', 'AppImage']);
    expect(config.extraMetadata.main).toBe('dist/main/main.js');
    expect(existsSync(path.join(ELECTRON, config.afterPack))).toBe(true);
    // The renderer goes where electron/dist/main/main.js looks for it (../../../renderer/dist from app.asar/dist/main).
    expect(config.extraResources).toContainEqual({ from: '../renderer/dist', to: 'renderer/dist' });
    expect(config.files).toContain('dist/**/*.js');
  });

  it('the deb depends on a system Node >= 20 for the daemons (RunAsNode is fused off)', () => {
    expect(config.deb.depends).toContain('nodejs (>= 20)');
    expect(config.deb.depends).toEqual(expect.arrayContaining(['systemd', 'adduser', 'dbus', 'kbd']));
  });

  it('the deb maps in the staged daemons, units, sysusers/tmpfiles and defaults, plus the maintainer scripts', () => {
    expect(config.deb.fpm).toEqual(expect.arrayContaining(['build/stage/usr/=/usr/', 'build/stage/etc/=/etc/']));
    const before = config.deb.fpm[config.deb.fpm.indexOf('--before-remove') + 1];
    for (const f of [config.deb.afterInstall, config.deb.afterRemove, before]) expect(existsSync(path.join(ELECTRON, f)), f).toBe(true);
  });
});

describe('the staged tree the deb ships (docs/packaging.md step 2)', () => {
  let stage: { dir: string; cleanup: () => void };
  beforeAll(() => {
    stage = tempDir('stage');
    runInstall(['--prefix', '/usr', '--sysconfdir', '/etc', '--destdir', stage.dir, '--ui-binary', UI_BINARY]);
  });
  afterAll(() => stage?.cleanup());
  const at = (p: string) => path.join(stage.dir, p);

  it('contains the daemons, the units, sysusers/tmpfiles and the defaults', () => {
    for (const d of ['authd', 'keystored', 'sessiond', 'session-launch']) {
      expect(existsSync(at(`usr/lib/redbear-greeter/daemons/dist/${d}/main.js`)), d).toBe(true);
      expect(existsSync(at(`usr/bin/redbear-${d}`)), d).toBe(true);
    }
    for (const u of UNITS) expect(existsSync(at(`usr/lib/systemd/system/${u}`)), u).toBe(true);
    expect(existsSync(at('usr/lib/sysusers.d/redbear-greeter.conf'))).toBe(true);
    expect(existsSync(at('usr/lib/tmpfiles.d/redbear-greeter.conf'))).toBe(true);
    expect(existsSync(at('etc/redbear/authd.toml'))).toBe(true);
    expect(existsSync(at('usr/share/redbear/greeter/background.png'))).toBe(true);
  });

  it('redbear-greeter-ui runs the packaged Electron binary', () => {
    expect(readFileSync(at('usr/bin/redbear-greeter-ui'), 'utf8')).toContain(`exec '${UI_BINARY}' "$@"`);
  });
});

/** electron-builder's macro expansion of afterInstall/afterRemove (FpmTarget writeConfigFile). */
function expandMacros(text: string): string {
  const options: Record<string, string> = { executable: config.executableName, sanitizedProductName: config.productName, productFilename: config.productName };
  return text.replace(/\${([a-zA-Z]+)}/g, (_m, k: string) => {
    if (!(k in options)) throw new Error(`Macro ${k} is not defined`);
    return options[k]!;
  });
}

describe('deb maintainer scripts', () => {
  let sandbox: { dir: string; cleanup: () => void };
  beforeAll(() => {
    sandbox = tempDir('debscripts');
  });
  afterAll(() => sandbox?.cleanup());

  /** Run a script with stub commands that log their argv; `present` picks which exist. */
  function runScript(file: string, args: string[], present: string[]): { status: number | null; calls: string[]; stderr: string } {
    const bin = path.join(sandbox.dir, `bin-${present.join('-') || 'none'}-${path.basename(file)}`);
    const log = path.join(bin, 'calls.log');
    mkdirSync(bin, { recursive: true });
    writeFileSync(log, '');
    for (const cmd of present) {
      writeFileSync(path.join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${log}'\n${cmd === 'getent' ? 'exit 2' : 'exit 0'}\n`);
      chmodSync(path.join(bin, cmd), 0o755);
    }
    const script = path.join(bin, 'script.sh');
    writeFileSync(script, expandMacros(readFileSync(path.join(ELECTRON, file), 'utf8')), { mode: 0o755 });
    // Only the stubs and the shell builtins; `chmod`/`unshare` are stubs too (nothing touches /opt).
    const r = run('/bin/bash', [script, ...args], { env: { PATH: bin } });
    return { status: r.status, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean), stderr: r.stderr };
  }

  it('after-install creates the greeter user with systemd-sysusers, runs tmpfiles, reloads systemd', () => {
    const r = runScript(config.deb.afterInstall, ['configure'], ['systemd-sysusers', 'systemd-tmpfiles', 'systemctl', 'chmod', 'unshare', 'getent', 'adduser']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.calls).toContain('systemd-sysusers /usr/lib/sysusers.d/redbear-greeter.conf');
    expect(r.calls).toContain('systemd-tmpfiles --create /usr/lib/tmpfiles.d/redbear-greeter.conf');
    expect(r.calls.some((c) => c.startsWith('adduser'))).toBe(false);
    expect(r.calls.some((c) => c.startsWith(`chmod 0755 /opt/${config.productName}/chrome-sandbox`) || c.startsWith(`chmod 4755 /opt/${config.productName}/chrome-sandbox`))).toBe(true);
  });

  it('after-install falls back to adduser --system --group when systemd-sysusers is missing', () => {
    const r = runScript(config.deb.afterInstall, ['configure'], ['chmod', 'unshare', 'getent', 'adduser']);
    expect(r.status).toBe(0);
    expect(r.calls).toContain('getent passwd greeter');
    const add = r.calls.find((c) => c.startsWith('adduser'));
    expect(add).toMatch(/^adduser --system --group .*greeter$/);
  });

  it('after-remove deletes only the UI profile on purge, never the keystore', () => {
    const script = readFileSync(path.join(ELECTRON, config.deb.afterRemove), 'utf8');
    expect(script).not.toMatch(/rm -rf[^\n]*(keystore|authd)/);
    const r = runScript(config.deb.afterRemove, ['remove'], ['systemctl']);
    expect(r.status).toBe(0);
  });

  it('before-remove stops and disables the stack on remove, not on upgrade', () => {
    const before = config.deb.fpm[config.deb.fpm.indexOf('--before-remove') + 1];
    // /run/systemd/system exists only on a systemd host; the stub run checks the upgrade path.
    const up = runScript(before, ['upgrade'], ['systemctl']);
    expect(up.status).toBe(0);
    expect(up.calls).toEqual([]);
    const text = readFileSync(path.join(ELECTRON, before), 'utf8');
    expect(text).toContain('systemctl disable redbear-greeterd.service');
  });
});
