import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from '../../test/harness/index.js';

describe('dev supervisor (npm start)', () => {
  it('seeds a hermetic root, starts every built daemon, and stops cleanly', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'rb-sup-'));
    try {
      const r = spawnSync(process.execPath, [path.join(REPO, 'daemons/dist/supervisor/main.js'), '--root', root, '--exit-after-ready'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain(`redbear: root ${root}`);
      expect(r.stdout).toMatch(/daemon\(s\) running/);
      expect(statSync(path.join(root, 'etc/shadow')).mode & 0o777).toBe(0o640);
      // Every daemon it said it started, it also said it stopped.
      const started = [...r.stdout.matchAll(/redbear: (\S+) ready on/g)].map((m) => m[1]);
      const stopped = [...r.stdout.matchAll(/redbear: (\S+) stopped \(0\)/g)].map((m) => m[1]);
      expect(stopped.sort()).toEqual(started.sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
