// config/redbear-greeter-services.toml: the Red Bear init fragment (seed §4.1, §4.5, §7.2, §9.7).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { BINARIES } from '../../scripts/install.mjs';
import { REPO } from './helpers.js';

interface InitService {
  unit?: { description?: string; requires_weak?: string[] };
  service?: { cmd: string; args?: string[]; type: string; envs?: Record<string, string>; respawn?: boolean };
}
interface Fragment {
  packages: Record<string, unknown>;
  users: Record<string, { uid: number; gid: number }>;
  groups: Record<string, { gid: number; members: string[] }>;
  files: { path: string; data: string }[];
}

const text = readFileSync(path.join(REPO, 'config/redbear-greeter-services.toml'), 'utf8');
const fragment = parse(text) as unknown as Fragment;
const INIT_DIR = '/usr/lib/init.d/';
const services = new Map<string, InitService>(
  fragment.files.filter((f) => f.path.startsWith(INIT_DIR)).map((f) => [f.path.slice(INIT_DIR.length), parse(f.data) as InitService]),
);
/** Red Bear base binaries the fragment may use besides the ones this stack ships. */
const BASE_BINARIES = ['ion', 'inputd', 'getty'];
const LOGIN_STACK = /greeter|authd|keystore|sessiond|session-launch/;

/** Everything reachable from a service through requires_weak (services of other fragments end the walk). */
function closure(name: string): Set<string> {
  const seen = new Set<string>();
  const walk = (n: string) => {
    for (const dep of services.get(n)?.unit?.requires_weak ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      walk(dep);
    }
  };
  walk(name);
  return seen;
}

describe('Red Bear init fragment', () => {
  it('declares the services the seed names', () => {
    expect([...services.keys()].sort()).toEqual(
      [
        '05_boot-essential.target',
        '19_redbear-authd.service',
        '19_redbear-keystored.service',
        '19_redbear-sessiond.service',
        '20_display.service',
        '20_greeter.service',
        '29_activate_console.service',
        '30_console.service',
        '31_debug_console.service',
      ].sort(),
    );
  });

  it('every [service] data block parses and names a shipped binary', () => {
    const shipped = new Set([...Object.keys(BINARIES), ...BASE_BINARIES]);
    for (const [name, svc] of services) {
      if (name.endsWith('.target')) {
        expect(svc.service, name).toBeUndefined();
        continue;
      }
      expect(svc.service, name).toBeDefined();
      expect(shipped.has(svc.service!.cmd), `${name}: ${svc.service!.cmd}`).toBe(true);
      expect(['oneshot', 'oneshot_async'], name).toContain(svc.service!.type);
    }
  });

  it('29_activate_console is oneshot_async and activates VT3 (§4.5)', () => {
    const s = services.get('29_activate_console.service')!.service!;
    expect(s).toMatchObject({ cmd: 'inputd', args: ['-A', '3'], type: 'oneshot_async' });
  });

  it('the fallback consoles depend on the console activation, never on the login stack (§4.5, §9.7)', () => {
    const c30 = services.get('30_console.service')!;
    const c31 = services.get('31_debug_console.service')!;
    expect(c30.service).toMatchObject({ cmd: 'getty', args: ['2'], respawn: true });
    expect(c31.service).toMatchObject({ cmd: 'getty', args: ['/scheme/debug/no-preserve', '-J'], respawn: true });
    for (const name of ['30_console.service', '31_debug_console.service']) {
      expect(services.get(name)!.unit!.requires_weak).toContain('29_activate_console.service');
    }
    for (const name of ['29_activate_console.service', '30_console.service', '31_debug_console.service']) {
      const reach = [...closure(name)];
      expect(reach.filter((d) => LOGIN_STACK.test(d)), `${name} reaches ${reach.join(', ')}`).toEqual([]);
    }
  });

  it('the rule check itself bites: a console wired to the greeter would be caught', () => {
    const saved = services.get('30_console.service')!;
    services.set('30_console.service', { ...saved, unit: { requires_weak: ['20_display.service', '20_greeter.service'] } });
    try {
      expect([...closure('30_console.service')].some((d) => LOGIN_STACK.test(d))).toBe(true);
    } finally {
      services.set('30_console.service', saved);
    }
  });

  it('orders keystored → authd → sessiond → greeter, greeter on VT3 as the greeter user', () => {
    expect(closure('19_redbear-authd.service')).toContain('19_redbear-keystored.service');
    expect([...closure('19_redbear-sessiond.service')]).toEqual(expect.arrayContaining(['19_redbear-keystored.service', '19_redbear-authd.service']));
    const greeter = services.get('20_greeter.service')!;
    expect([...closure('20_greeter.service')]).toEqual(
      expect.arrayContaining(['19_redbear-keystored.service', '19_redbear-authd.service', '19_redbear-sessiond.service']),
    );
    expect(greeter.service).toMatchObject({ cmd: 'redbear-greeterd', envs: { VT: '3', REDBEAR_GREETER_USER: 'greeter' } });
    expect(greeter.service!.args).toEqual(['--root', '/', '--config', '/etc/redbear/greeterd.toml']);
    // 20_display is the compatibility root of the VT3 activation and never waits for the greeter.
    expect(services.get('29_activate_console.service')!.unit!.requires_weak).toContain('20_display.service');
    expect([...closure('20_display.service')].filter((d) => LOGIN_STACK.test(d))).toEqual([]);
  });

  it('includes the packages and the greeter user/group', () => {
    expect(Object.keys(fragment.packages)).toEqual(expect.arrayContaining(['redbear-greeter', 'redbear-authd', 'redbear-session-launch']));
    expect(fragment.users.greeter).toMatchObject({ uid: 101, gid: 101 });
    expect(fragment.groups.greeter).toMatchObject({ gid: 101, members: ['greeter'] });
  });

  it('each daemon gets --root / and a --config file the installer provides', () => {
    for (const [name, svc] of services) {
      const cmd = svc.service?.cmd ?? '';
      if (!/^redbear-(keystored|authd|sessiond|greeterd)$/.test(cmd)) continue;
      expect(svc.service!.args, name).toEqual(['--root', '/', '--config', `/etc/redbear/${cmd.replace('redbear-', '')}.toml`]);
    }
  });
});
