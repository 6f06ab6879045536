// Every command in docs/install.md and docs/packaging.md is run here (against a temporary
// root) or named as CI-only, so the docs cannot drift from what works.
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, REPO, run, tempDir } from './helpers.js';

function commands(doc: string): string[] {
  const text = readFileSync(path.join(REPO, doc), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of m[1]!.split('\n')) if (line.trim() && !line.trim().startsWith('#')) out.push(line.trim());
  }
  return out;
}
function words(cmd: string): string[] {
  return [...cmd.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** Commands that need the network or a full build and run in CI (`npm test` runs the build). */
const CI_ONLY = new Set(['npm ci', 'npm run build', 'cd electron && npx electron-builder --linux deb AppImage --config electron-builder.json']);

describe('docs commands', () => {
  let root: { dir: string; cleanup: () => void };
  const unitdir = () => path.join(root.dir, 'usr/lib/systemd/system');
  beforeAll(() => {
    root = tempDir('docs');
    mkdirSync(path.join(root.dir, 'etc'), { recursive: true });
  });
  afterAll(() => root?.cleanup());

  /** Run a documented command against the temporary root: --destdir / → it, systemd tools get --root. */
  function exec(cmd: string): void {
    const w = words(cmd);
    let argv: string[];
    if (w[0] === 'node' && w[1] === 'scripts/install.mjs') {
      const i = w.indexOf('--destdir');
      argv = [...w];
      if (i >= 0) argv[i + 1] = w[i + 1] === '/' ? root.dir : path.join(root.dir, 'stage');
      argv[0] = process.execPath;
    } else if (w[0] === 'systemd-sysusers' || w[0] === 'systemd-tmpfiles' || w[0] === 'systemctl') {
      argv = [w[0]!, `--root=${root.dir}`, ...w.slice(1)];
    } else {
      argv = w;
    }
    const r = run(argv[0]!, argv.slice(1), { cwd: REPO });
    expect(r.status, `${cmd}\n${r.stdout}${r.stderr}`).toBe(0);
  }

  it('install.md: install, create the user, switch display managers, uninstall', () => {
    const cmds = commands('docs/install.md');
    expect(cmds.length).toBeGreaterThan(5);
    const unknown = cmds.filter((c) => !CI_ONLY.has(c) && !/^(node scripts\/install\.mjs|systemd-sysusers|systemd-tmpfiles|systemctl) /.test(c));
    expect(unknown).toEqual([]);
    for (const cmd of cmds) {
      if (CI_ONLY.has(cmd)) continue;
      if (cmd === 'systemctl disable display-manager.service') {
        // A system whose display manager is some other one (like gdm3/sddm): host units + a fake DM.
        const host = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(d))!;
        expect(run('cp', ['-an', `${host}/.`, `${unitdir()}/`]).status).toBe(0);
        writeFileSync(path.join(unitdir(), 'otherdm.service'), '[Service]\nExecStart=/bin/true\n[Install]\nAlias=display-manager.service\n');
        expect(run('systemctl', [`--root=${root.dir}`, 'enable', 'otherdm.service']).status).toBe(0);
      }
      if (!have(words(cmd)[0]!)) continue;
      exec(cmd);
      const alias = path.join(root.dir, 'etc/systemd/system/display-manager.service');
      if (cmd === 'systemctl enable redbear-greeterd.service') expect(readlinkSync(alias)).toMatch(/redbear-greeterd\.service$/);
      if (cmd === 'systemctl disable display-manager.service' || cmd === 'systemctl disable redbear-greeterd.service') expect(existsSync(alias)).toBe(false);
      if (cmd.startsWith('systemd-sysusers')) expect(readFileSync(path.join(root.dir, 'etc/passwd'), 'utf8')).toMatch(/^greeter:/m);
      if (cmd.startsWith('systemd-tmpfiles')) expect(existsSync(path.join(root.dir, 'var/lib/redbear/keystore'))).toBe(true);
    }
    // After the documented uninstall nothing of ours is left.
    expect(existsSync(path.join(root.dir, 'usr/lib/redbear-greeter'))).toBe(false);
    expect(existsSync(path.join(unitdir(), 'redbear-greeterd.service'))).toBe(false);
  });

  it('packaging.md: npm pack and the deb staging', () => {
    const cmds = commands('docs/packaging.md');
    expect(cmds).toContain('npm pack --dry-run -w @redbear/daemons -w @redbear/protocol -w @redbear/cli');
    for (const cmd of cmds) {
      if (CI_ONLY.has(cmd)) continue;
      expect(cmd, 'an undocumented kind of command').toMatch(/^(npm pack |node scripts\/install\.mjs )/);
      exec(cmd);
    }
    const ui = readFileSync(path.join(root.dir, 'stage/usr/bin/redbear-greeter-ui'), 'utf8');
    expect(ui).toContain(`exec '/opt/Red Bear Greeter/redbear-greeter-ui' "$@"`);
  });
});
