import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MountTable } from './mount-table.js';

const root = process.getuid?.() === 0;

describe('MountTable', () => {
  it('keeps its generation while nothing is mounted or unmounted', () => {
    const t = new MountTable();
    const g = t.current().gen;
    for (let i = 0; i < 5; i++) expect(t.current().gen).toBe(g);
    t.close();
  });

  it.runIf(root)('a mount and an unmount made before a call are seen by that call', () => {
    const t = new MountTable();
    const dir = mkdtempSync(path.join(tmpdir(), 'rb-mt-'));
    try {
      for (let i = 0; i < 3; i++) {
        const g = t.current().gen;
        expect(spawnSync('mount', ['-t', 'tmpfs', 'none', dir]).status).toBe(0);
        const g2 = t.current().gen;
        expect(g2).not.toBe(g);
        expect(spawnSync('umount', [dir]).status).toBe(0);
        expect(t.current().gen).not.toBe(g2);
      }
    } finally {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
      t.close();
    }
  });
});
