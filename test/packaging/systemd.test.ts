// config/systemd, config/sysusers.d, config/tmpfiles.d: verified with the real systemd tools
// (systemd-analyze verify, systemd-sysusers, systemd-tmpfiles) against a temporary root.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNITS } from '../../scripts/install.mjs';
import { have, REPO, run, runInstall, tempDir } from './helpers.js';

const unitText = (u: string) => readFileSync(path.join(REPO, 'config/systemd', u), 'utf8');

/** `[Section]` → key → values (repeated keys accumulate). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      cur = new Map();
      out.set(sec[1]!, cur);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !cur) throw new Error(`unparsable unit line: ${raw}`);
    cur.set(kv[1]!, [...(cur.get(kv[1]!) ?? []), kv[2]!]);
  }
  return out;
}
const get = (u: string, sec: string, key: string) => (parseUnit(unitText(u)).get(sec)?.get(key) ?? []).join(' ');

describe('systemd units (static rules)', () => {
  it('ships the four daemon units', () => {
    expect(readdirSync(path.join(REPO, 'config/systemd')).sort()).toEqual([...UNITS].sort());
  });

  it('orders keystored → authd → sessiond → greeterd', () => {
    expect(get('redbear-authd.service', 'Unit', 'After')).toContain('redbear-keystored.service');
    expect(get('redbear-sessiond.service', 'Unit', 'After')).toMatch(/redbear-keystored\.service.*redbear-authd\.service/);
    const after = get('redbear-greeterd.service', 'Unit', 'After');
    for (const d of ['redbear-keystored', 'redbear-authd', 'redbear-sessiond']) expect(after).toContain(`${d}.service`);
    expect(get('redbear-greeterd.service', 'Unit', 'Wants')).toContain('redbear-authd.service');
  });

  it('every daemon is Type=notify with NotifyAccess=all (systemd-notify is a child), restarts on failure with limits', () => {
    for (const u of UNITS) {
      expect(get(u, 'Service', 'Type'), u).toBe('notify');
      expect(get(u, 'Service', 'NotifyAccess'), u).toBe('all');
      expect(get(u, 'Service', 'Restart'), u).toBe('on-failure');
      expect(Number(get(u, 'Unit', 'StartLimitBurst')), u).toBeGreaterThan(0);
      expect(get(u, 'Unit', 'StartLimitIntervalSec'), u).toMatch(/^\d+/);
      const name = u.replace(/^redbear-|\.service$/g, '');
      expect(get(u, 'Service', 'ExecStart'), u).toBe(`/usr/bin/redbear-${name} --root / --config /etc/redbear/${name}.toml`);
    }
  });

  it('greeterd owns VT3 like a display manager and falls back to a text login when it gives up', () => {
    expect(get('redbear-greeterd.service', 'Unit', 'Conflicts')).toContain('getty@tty3.service');
    expect(get('redbear-greeterd.service', 'Unit', 'After')).toContain('getty@tty3.service');
    expect(get('redbear-greeterd.service', 'Install', 'Alias')).toBe('display-manager.service');
    expect(get('redbear-greeterd.service', 'Unit', 'OnFailure')).toBe('getty@tty3.service');
  });

  it('hardening matches what each daemon must still do', () => {
    // authd writes /etc/shadow atomically and creates homes.
    expect(get('redbear-authd.service', 'Service', 'ProtectSystem')).toBe('strict');
    expect(get('redbear-authd.service', 'Service', 'ReadWritePaths').split(/\s+/)).toEqual(expect.arrayContaining(['/etc', '/run']));
    expect(get('redbear-authd.service', 'Service', 'ProtectHome')).toBe('no');
    // sessiond's children become the user's session: nothing that the session would inherit.
    for (const k of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'RestrictSUIDSGID']) {
      expect(get('redbear-sessiond.service', 'Service', k), k).toBe('');
    }
    expect(get('redbear-sessiond.service', 'Service', 'KillMode')).toBe('process');
    for (const u of ['redbear-keystored.service', 'redbear-authd.service', 'redbear-greeterd.service']) {
      expect(get(u, 'Service', 'NoNewPrivileges'), u).toBe('yes');
      expect(get(u, 'Service', 'PrivateTmp'), u).toBe('yes');
    }
    expect(get('redbear-keystored.service', 'Service', 'StateDirectory')).toBe('redbear/keystore');
    expect(get('redbear-authd.service', 'Service', 'StateDirectory')).toBe('redbear/authd');
  });
});

describe.runIf(have('systemd-analyze'))('systemd-analyze verify on an installed tree', () => {
  let root: { dir: string; cleanup: () => void };
  beforeAll(() => {
    root = tempDir('verify');
    runInstall(['--prefix', '/usr', '--destdir', root.dir]);
    // The host's own units (sysinit.target, getty@.service, …) so the root is a system.
    const unitdir = path.join(root.dir, 'usr/lib/systemd/system');
    const host = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(d))!;
    const cp = run('cp', ['-an', `${host}/.`, `${unitdir}/`]);
    if (cp.status !== 0) throw new Error(cp.stderr);
    // ExecStart binaries whose entry point is not built yet get an honest stub (noted in the name).
    for (const u of UNITS) {
      const bin = path.join(root.dir, 'usr/bin', u.replace('.service', ''));
      if (!existsSync(bin)) {
        mkdirSync(path.dirname(bin), { recursive: true });
        writeFileSync(bin, '#!/bin/sh\n# stub: entry point not built\nexit 1\n');
        chmodSync(bin, 0o755);
      }
    }
  });
  afterAll(() => root?.cleanup());

  it('is clean for every unit', () => {
    const files = UNITS.map((u) => path.join(root.dir, 'usr/lib/systemd/system', u));
    for (const f of files) expect(statSync(f).isFile()).toBe(true);
    const r = run('systemd-analyze', ['verify', '--man=no', `--root=${root.dir}`, ...files]);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('catches a broken unit (the check bites)', () => {
    const bad = path.join(root.dir, 'usr/lib/systemd/system/redbear-broken.service');
    writeFileSync(bad, '[Service]\nType=notify\nExecStart=/usr/bin/redbear-missing-binary\nRestart=sometimes\n');
    const r = run('systemd-analyze', ['verify', '--man=no', `--root=${root.dir}`, bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/redbear-missing-binary|Restart/);
  });
});

describe.runIf(have('systemd-sysusers') && have('systemd-tmpfiles'))('sysusers.d and tmpfiles.d', () => {
  let root: { dir: string; cleanup: () => void };
  beforeAll(() => {
    root = tempDir('sysusers');
    mkdirSync(path.join(root.dir, 'etc'), { recursive: true });
    for (const [dir, file] of [
      ['sysusers.d', 'redbear-greeter.conf'],
      ['tmpfiles.d', 'redbear-greeter.conf'],
    ] as const) {
      mkdirSync(path.join(root.dir, 'usr/lib', dir), { recursive: true });
      cpSync(path.join(REPO, 'config', dir, file), path.join(root.dir, 'usr/lib', dir, file));
    }
  });
  afterAll(() => root?.cleanup());

  it('systemd-sysusers creates the greeter system user and group', () => {
    const r = run('systemd-sysusers', [`--root=${root.dir}`, 'redbear-greeter.conf']);
    expect(r.stderr).not.toMatch(/Failed|invalid|Unknown/i);
    expect(r.status).toBe(0);
    const passwd = readFileSync(path.join(root.dir, 'etc/passwd'), 'utf8');
    const group = readFileSync(path.join(root.dir, 'etc/group'), 'utf8');
    const user = passwd.split('\n').find((l) => l.startsWith('greeter:'))!.split(':');
    expect(Number(user[2])).toBeLessThan(1000);
    expect(user[5]).toBe('/var/lib/redbear/greeter');
    expect(user[6]).toBe('/usr/sbin/nologin');
    expect(group).toMatch(new RegExp(`^greeter:x:${user[3]}:`, 'm'));
  });

  it('systemd-tmpfiles creates the runtime and state directories with their modes and owners', () => {
    run('systemd-sysusers', [`--root=${root.dir}`, 'redbear-greeter.conf']);
    const r = run('systemd-tmpfiles', ['--create', `--root=${root.dir}`, 'redbear-greeter.conf']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const uid = Number(readFileSync(path.join(root.dir, 'etc/passwd'), 'utf8').match(/^greeter:x:(\d+):/m)![1]);
    const expectDir = (p: string, mode: number, owner: number) => {
      const st = statSync(path.join(root.dir, p));
      expect(st.isDirectory(), p).toBe(true);
      expect(st.mode & 0o7777, p).toBe(mode);
      expect(st.uid, p).toBe(owner);
    };
    expectDir('run/redbear-greeter', 0o700, uid);
    expectDir('var/lib/redbear/authd', 0o700, 0);
    expectDir('var/lib/redbear/keystore', 0o700, 0);
    expectDir('var/lib/redbear/greeter', 0o750, uid);
    expectDir('state/secure/home', 0o711, 0);
    expectDir('var/log/redbear/sessions', 0o700, 0);
  });

  it('every tmpfiles line has the 7 columns and only d entries', () => {
    for (const line of readFileSync(path.join(REPO, 'config/tmpfiles.d/redbear-greeter.conf'), 'utf8').split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const cols = line.trim().split(/\s+/);
      expect(cols, line).toHaveLength(7);
      expect(cols[0]).toBe('d');
      expect(cols[2]).toMatch(/^0[0-7]{3}$/);
    }
  });
});
