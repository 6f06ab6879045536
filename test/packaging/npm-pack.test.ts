// `npm pack --dry-run` of the Node packages (docs/packaging.md).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, run } from './helpers.js';

interface Packed {
  name: string;
  files: { path: string }[];
}

describe('npm pack', () => {
  it('packs @redbear/daemons, @redbear/protocol and @redbear/cli', () => {
    const r = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '-w', '@redbear/daemons', '-w', '@redbear/protocol', '-w', '@redbear/cli'], { cwd: REPO });
    expect(r.status, r.stderr).toBe(0);
    const packs = JSON.parse(r.stdout) as Packed[];
    expect(packs.map((p) => p.name).sort()).toEqual(['@redbear/cli', '@redbear/daemons', '@redbear/protocol']);
    const daemons = packs.find((p) => p.name === '@redbear/daemons')!;
    const files = new Set(daemons.files.map((f) => f.path));
    // Every bin target that is built is in the tarball, and no sources, tests or maps.
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'daemons/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(Object.keys(pkg.bin).sort()).toEqual(['redbear-authd', 'redbear-greeterd', 'redbear-keystored', 'redbear-session-launch', 'redbear-sessiond']);
    for (const target of Object.values(pkg.bin)) {
      if (existsSync(path.join(REPO, 'daemons', target))) expect(files.has(target), target).toBe(true);
    }
    expect([...files].filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map'))).toEqual([]);
    const protocol = packs.find((p) => p.name === '@redbear/protocol')!;
    expect(protocol.files.filter((f) => f.path.startsWith('src/') || f.path.startsWith('test/'))).toEqual([]);
  });
});
