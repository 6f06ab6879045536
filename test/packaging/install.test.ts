// scripts/install.mjs: install into a temporary DESTDIR, check the tree, run every wrapper
// from the DESTDIR copy with plain node (proving the runtime deps are complete), uninstall.
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINARIES, DAEMON_CONFIGS, UNITS, readManifest, layout, runtimeDependencies } from '../../scripts/install.mjs';
import { REPO, run, runInstall, tempDir } from './helpers.js';

const LIB = 'usr/lib/redbear-greeter';

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

describe('scripts/install.mjs', () => {
  let dest: { dir: string; cleanup: () => void };
  let output = '';
  beforeAll(() => {
    dest = tempDir('destdir');
    output = runInstall(['--prefix', '/usr', '--destdir', dest.dir, '--sysconfdir', '/etc']);
  });
  afterAll(() => dest?.cleanup());
  const at = (p: string) => path.join(dest.dir, p);

  it('installs the built JS of every workspace and makes them resolvable as @redbear/*', () => {
    for (const w of ['protocol', 'daemons', 'electron', 'renderer']) {
      expect(existsSync(at(`${LIB}/${w}/package.json`)), w).toBe(true);
      expect(lstatSync(at(`${LIB}/node_modules/@redbear/${w}`)).isSymbolicLink(), w).toBe(true);
    }
    expect(existsSync(at(`${LIB}/renderer/dist/index.html`))).toBe(true);
    // No sources, tests, source maps or declarations.
    const files = walk(at(LIB));
    expect(files.filter((f) => /\.(map|d\.ts|tsbuildinfo)$/.test(f) || /(^|\/)src\/.*\.tsx?$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('daemons/test/') || f.startsWith('protocol/test/'))).toEqual([]);
  });

  it('copies exactly the production dependencies, including native ones and their prebuilt binaries', () => {
    const deps = runtimeDependencies();
    for (const d of ['node_modules/@sinclair/typebox', 'node_modules/smol-toml', 'node_modules/argon2', 'node_modules/koffi', 'node_modules/libsodium-wrappers-sumo', 'node_modules/ws']) {
      expect(deps).toContain(d);
      expect(existsSync(at(`${LIB}/${d}/package.json`)), d).toBe(true);
    }
    // Dev-only tooling never ships.
    for (const d of ['vitest', 'typescript', 'electron', 'electron-builder', '@electron/fuses', 'react', 'vite']) {
      expect(existsSync(at(`${LIB}/node_modules/${d}`)), d).toBe(false);
    }
  });

  it('every runtime dependency imports from the DESTDIR copy (native addons included)', () => {
    const script = `
      const names = JSON.parse(process.argv[1]);
      for (const n of names) await import(n);
      const sodium = (await import('libsodium-wrappers-sumo')).default; await sodium.ready;
      const argon2 = await import('argon2'); const h = await argon2.hash('x', { timeCost: 2, memoryCost: 1024 });
      if (!(await argon2.verify(h, 'x'))) throw new Error('argon2');
      console.log('deps ok');`;
    const daemonsPkg = JSON.parse(readFileSync(path.join(REPO, 'daemons/package.json'), 'utf8'));
    const names = Object.keys(daemonsPkg.dependencies);
    const r = run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(names)], {
      cwd: at(`${LIB}/daemons`),
      env: { PATH: process.env.PATH, HOME: dest.dir },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('deps ok');
    // And they resolve inside the DESTDIR, not from the repository.
    const req = createRequire(at(`${LIB}/daemons/package.json`));
    expect(req.resolve('smol-toml')).toContain(dest.dir);
  });

  it('writes a wrapper per built entry point, and each runs --help from the DESTDIR copy', () => {
    const built = Object.entries(BINARIES).filter(([, e]) => existsSync(path.join(REPO, e)));
    expect(built.length).toBeGreaterThanOrEqual(5);
    for (const [name, entry] of Object.entries(BINARIES)) {
      expect(existsSync(at(`usr/bin/${name}`)), name).toBe(existsSync(path.join(REPO, entry)));
    }
    for (const [name, entry] of built) {
      const wrapper = readFileSync(at(`usr/bin/${name}`), 'utf8');
      expect(statSync(at(`usr/bin/${name}`)).mode & 0o777).toBe(0o755);
      expect(wrapper.startsWith('#!/bin/sh\n')).toBe(true);
      expect(wrapper).toContain(`'/usr/lib/redbear-greeter/${entry}'`);
      if (name === 'redbear-greeter-ui') continue; // needs an Electron binary; see the electron-builder test
      expect(wrapper).toContain(`exec node '/usr/lib/redbear-greeter/${entry}' "$@"`);
      // The same wrapper, pointed at the DESTDIR copy, run by /bin/sh with a clean environment.
      const local = path.join(dest.dir, `.wrapper-${name}`);
      writeFileSync(local, wrapper.replace(`'/usr/lib/redbear-greeter/`, `'${dest.dir}/usr/lib/redbear-greeter/`), { mode: 0o755 });
      const r = run('sh', [local, '--help'], { cwd: '/', env: { PATH: process.env.PATH } });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(name.replace(/-/g, '.')));
    }
  });

  it('installs assets, units, sysusers.d, tmpfiles.d and the default configuration', () => {
    for (const a of ['background.png', 'icon.png']) {
      expect(readFileSync(at(`usr/share/redbear/greeter/${a}`))).toEqual(readFileSync(path.join(REPO, 'assets', a)));
    }
    for (const u of UNITS) expect(readFileSync(at(`usr/lib/systemd/system/${u}`), 'utf8')).toBe(readFileSync(path.join(REPO, 'config/systemd', u), 'utf8'));
    expect(existsSync(at('usr/lib/sysusers.d/redbear-greeter.conf'))).toBe(true);
    expect(existsSync(at('usr/lib/tmpfiles.d/redbear-greeter.conf'))).toBe(true);
    for (const d of DAEMON_CONFIGS) expect(existsSync(at(`etc/redbear/${d}.toml`)), d).toBe(true);
    expect(readFileSync(at('etc/redbear/authd.toml'), 'utf8')).toBe(readFileSync(path.join(REPO, 'config/defaults/authd.toml'), 'utf8'));
    expect(output).toContain('manifest');
  });

  it('the manifest lists every installed file, and nothing else was written', () => {
    const m = readManifest(layout({ destdir: dest.dir }))!;
    const listed = new Set(m.entries.map((e) => e.path.slice(1)));
    listed.add(`${LIB}/install-manifest.json`);
    const onDisk = walk(dest.dir).filter((f) => !f.startsWith('.wrapper-'));
    expect(onDisk.filter((f) => !listed.has(f))).toEqual([]);
    expect([...listed].filter((f) => !existsSync(at(f)) && !lstatSync(at(f), { throwIfNoEntry: false }))).toEqual([]);
  });
});

describe('install then uninstall', () => {
  it('removes exactly what was installed, keeps edited configuration and foreign files', () => {
    const dest = tempDir('uninstall');
    try {
      // A pre-existing system: an admin-edited config and an unrelated binary.
      mkdirSync(path.join(dest.dir, 'etc/redbear'), { recursive: true });
      writeFileSync(path.join(dest.dir, 'etc/redbear/sessiond.toml'), 'seat = "seat1"\n');
      mkdirSync(path.join(dest.dir, 'usr/bin'), { recursive: true });
      writeFileSync(path.join(dest.dir, 'usr/bin/other-tool'), '#!/bin/sh\n');
      const before = walk(dest.dir).sort();

      const out = runInstall(['--prefix', '/usr', '--destdir', dest.dir]);
      expect(out).toMatch(/sessiond\.toml: exists and was edited; kept/);
      expect(readFileSync(path.join(dest.dir, 'etc/redbear/sessiond.toml'), 'utf8')).toBe('seat = "seat1"\n');
      // Reinstalling over an install is fine and keeps one manifest.
      runInstall(['--prefix', '/usr', '--destdir', dest.dir]);
      // The admin edits a config the installer wrote: uninstall must keep it.
      writeFileSync(path.join(dest.dir, 'etc/redbear/greeterd.toml'), 'vt = 7\n');

      const un = runInstall(['--uninstall', '--destdir', dest.dir]);
      expect(un).toMatch(/greeterd\.toml: edited since install; kept/);
      const after = walk(dest.dir).sort();
      expect(after).toEqual([...before, 'etc/redbear/greeterd.toml'].sort());
      expect(existsSync(path.join(dest.dir, 'usr/lib/redbear-greeter'))).toBe(false);
      expect(existsSync(path.join(dest.dir, 'usr/share/redbear'))).toBe(false);
    } finally {
      dest.cleanup();
    }
  });

  it('refuses bad paths and a missing manifest', () => {
    const dest = tempDir('bad');
    try {
      const r1 = run(process.execPath, [path.join(REPO, 'scripts/install.mjs'), '--prefix', 'usr', '--destdir', dest.dir]);
      expect(r1.status).toBe(1);
      expect(r1.stderr).toMatch(/--prefix must be a normalized absolute path/);
      const r2 = run(process.execPath, [path.join(REPO, 'scripts/install.mjs'), '--uninstall', '--destdir', dest.dir]);
      expect(r2.status).toBe(1);
      expect(r2.stderr).toMatch(/no install manifest/);
      const r3 = run(process.execPath, [path.join(REPO, 'scripts/install.mjs'), '--bogus']);
      expect(r3.status).toBe(2);
    } finally {
      dest.cleanup();
    }
  });

  it('another prefix and sysconfdir are baked into the wrappers and units', () => {
    const dest = tempDir('prefix');
    try {
      runInstall(['--prefix', '/usr/local', '--destdir', dest.dir, '--sysconfdir', '/usr/local/etc']);
      const unit = readFileSync(path.join(dest.dir, 'usr/local/lib/systemd/system/redbear-authd.service'), 'utf8');
      expect(unit).toContain('ExecStart=/usr/local/bin/redbear-authd --root / --config /usr/local/etc/redbear/authd.toml');
      expect(readFileSync(path.join(dest.dir, 'usr/local/bin/redbear-authd'), 'utf8')).toContain(`'/usr/local/lib/redbear-greeter/daemons/dist/authd/main.js'`);
      expect(existsSync(path.join(dest.dir, 'usr/local/etc/redbear/authd.toml'))).toBe(true);
    } finally {
      dest.cleanup();
    }
  });
});
