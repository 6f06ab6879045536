import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLoginDefs, readLoginDefs } from './login-defs.js';

describe('login.defs', () => {
  it('uses shadow-utils defaults when keys are absent', () => {
    const d = parseLoginDefs('');
    expect(d).toMatchObject({ UID_MIN: 1000, UID_MAX: 60000, GID_MIN: 1000, GID_MAX: 60000, SYS_UID_MIN: 101, SYS_UID_MAX: 999, SYS_GID_MAX: 999, PASS_MAX_DAYS: null, USERGROUPS_ENAB: true, UMASK: 0o22 });
  });

  it('parses values, comments, tabs, octal/hex and quotes', () => {
    const d = parseLoginDefs(`# comment\nUID_MIN\t\t\t 2000\nUID_MAX 0x7fff\n  GID_MIN 3000 \nUMASK\t\t077\nPASS_MAX_DAYS 90\nPASS_MIN_DAYS -1\nENCRYPT_METHOD "YESCRYPT"\nUSERGROUPS_ENAB no\nBOGUS\nSYS_UID_MAX junk\n`);
    expect(d.UID_MIN).toBe(2000);
    expect(d.UID_MAX).toBe(0x7fff);
    expect(d.GID_MIN).toBe(3000);
    expect(d.UMASK).toBe(0o77);
    expect(d.PASS_MAX_DAYS).toBe(90);
    expect(d.PASS_MIN_DAYS).toBeNull();
    expect(d.SYS_UID_MAX).toBe(1999); // junk -> default UID_MIN - 1
    expect(d.raw['ENCRYPT_METHOD']).toBe('YESCRYPT');
    expect(d.raw['BOGUS']).toBe('');
    expect(d.USERGROUPS_ENAB).toBe(false);
  });

  it('reads <root>/etc/login.defs; missing file = defaults', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rb-defs-'));
    try {
      expect((await readLoginDefs(root)).UID_MIN).toBe(1000);
      mkdirSync(path.join(root, 'etc'));
      writeFileSync(path.join(root, 'etc', 'login.defs'), 'UID_MIN 500\n');
      expect((await readLoginDefs(root)).UID_MIN).toBe(500);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
