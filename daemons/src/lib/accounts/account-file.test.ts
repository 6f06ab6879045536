import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendEntry, findEntry, mapEntries, parseAccountFile, replaceEntry, serializeAccountFile } from './account-file.js';
import { ACCOUNT_FILES } from './paths.js';

const MESSY_PASSWD = [
  '# comment line',
  'root:x:0:0:root:/root:/bin/bash',
  '',
  '   ',
  'broken:x:notanumber:0::/:/bin/sh',
  'short:x:1',
  '+@netgroup::::::',
  '-baduser::::::',
  'alice:x:1000:1000:Alice A,,,:/home/alice:/bin/bash',
  'alice:x:1001:1001:dup:/home/alice2:/bin/bash',
  'trailing:x:1002:1002::/home/t:/bin/sh',
].join('\n'); // no final newline

describe('parseAccountFile', () => {
  it('types passwd fields and reports malformed lines with line numbers', () => {
    const p = parseAccountFile('passwd', MESSY_PASSWD);
    expect(p.entries.map((e) => e.name)).toEqual(['root', 'alice', 'trailing']);
    expect(findEntry(p, 'alice')).toEqual({ name: 'alice', password: 'x', uid: 1000, gid: 1000, gecos: 'Alice A,,,', home: '/home/alice', shell: '/bin/bash' });
    expect(p.problems.map((x) => [x.line, x.file])).toEqual([
      [5, 'passwd'],
      [6, 'passwd'],
      [10, 'passwd'],
    ]);
    expect(p.problems[0]?.reason).toMatch(/uid/);
    expect(p.problems[1]?.reason).toMatch(/7 fields/);
    expect(p.problems[2]?.reason).toMatch(/duplicate/);
    expect(p.lines.map((l) => l.kind)).toEqual(['comment', 'entry', 'blank', 'blank', 'malformed', 'malformed', 'nis', 'nis', 'entry', 'malformed', 'entry']);
    expect(p.trailingNewline).toBe(false);
  });

  it('round-trips every file kind byte-for-byte', () => {
    const samples = [
      MESSY_PASSWD,
      MESSY_PASSWD + '\n',
      '',
      '\n',
      '\n\n',
      'root:*:19000:0:99999:7:::\nbad:::\nx:$6$salt$hash:0:::::-1:\n# c',
      'root:x:0:\nsudo:x:27:alice,bob\n+::::\n',
      'root:*::\nsudo:!:alice:bob,carol\nbroken',
    ];
    for (const file of ACCOUNT_FILES) for (const s of samples) expect(serializeAccountFile(parseAccountFile(file, s)).toString('utf8')).toBe(s);
    const binary = Buffer.from([0x72, 0x3a, 0xff, 0xfe, 0x0a, 0x61, 0x0d, 0x0a, 0x00]);
    const parsed = parseAccountFile('passwd', binary);
    expect(serializeAccountFile(parsed).equals(binary)).toBe(true);
    expect(parsed.problems.length).toBe(3);
  });

  it('round-trips arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ACCOUNT_FILES), fc.uint8Array({ maxLength: 300 }), (file, bytes) => {
        const buf = Buffer.from(bytes);
        expect(serializeAccountFile(parseAccountFile(file, buf)).equals(buf)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const lineArb = fc.array(fc.constantFrom('a', ':', ',', '0', '1', '#', '+', ' ', 'é', '\n'), { maxLength: 60 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.constantFrom(...ACCOUNT_FILES), lineArb, (file, s) => {
        expect(serializeAccountFile(parseAccountFile(file, s)).toString('utf8')).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('parses shadow numeric fields, empty as null', () => {
    const p = parseAccountFile('shadow', 'a:$6$x$y:19500:0:99999:7:::\nb:!:0::::::\nc:*:1:2:3:4:5:6:7\nd:x:abc:::::: \n');
    expect(findEntry(p, 'a')).toEqual({ name: 'a', hash: '$6$x$y', lastChange: 19500, minDays: 0, maxDays: 99999, warnDays: 7, inactiveDays: null, expireDate: null, flag: null });
    expect(findEntry(p, 'b')?.lastChange).toBe(0);
    expect(findEntry(p, 'c')).toMatchObject({ inactiveDays: 5, expireDate: 6, flag: 7 });
    expect(p.problems.map((x) => x.line)).toEqual([4]);
  });

  it('parses group and gshadow member lists', () => {
    const g = parseAccountFile('group', 'sudo:x:27:alice,bob\nempty:x:5:\n');
    expect(findEntry(g, 'sudo')?.members).toEqual(['alice', 'bob']);
    expect(findEntry(g, 'empty')?.members).toEqual([]);
    const gs = parseAccountFile('gshadow', 'sudo:!:alice:bob,carol\n');
    expect(findEntry(gs, 'sudo')).toEqual({ name: 'sudo', password: '!', admins: ['alice'], members: ['bob', 'carol'] });
  });
});

describe('editing keeps untouched lines', () => {
  it('replace / delete / append / map', () => {
    const p = parseAccountFile('passwd', MESSY_PASSWD);
    const alice = findEntry(p, 'alice');
    if (!alice) throw new Error('no alice');
    const replaced = serializeAccountFile(replaceEntry(p, 'alice', { ...alice, shell: '/bin/sh' })).toString();
    expect(replaced).toBe(MESSY_PASSWD.replace('Alice A,,,:/home/alice:/bin/bash', 'Alice A,,,:/home/alice:/bin/sh'));
    const deleted = serializeAccountFile(replaceEntry(p, 'root', null)).toString();
    expect(deleted).toBe(MESSY_PASSWD.replace('root:x:0:0:root:/root:/bin/bash\n', ''));
    // Appended entries go before NIS compat lines, which must stay last.
    const appended = appendEntry(p, { name: 'bob', password: 'x', uid: 1003, gid: 1003, gecos: '', home: '/home/bob', shell: '/bin/sh' });
    const lines = serializeAccountFile(appended).toString().split('\n');
    expect(lines.indexOf('bob:x:1003:1003::/home/bob:/bin/sh')).toBe(lines.indexOf('+@netgroup::::::') - 1);
    expect(findEntry(appended, 'bob')?.uid).toBe(1003);
    const same = mapEntries(p, (e) => e);
    expect(serializeAccountFile(same).toString()).toBe(MESSY_PASSWD);
  });

  it('keeps the trailing-newline state; an empty file gains one', () => {
    const withNl = parseAccountFile('group', 'root:x:0:\n');
    expect(serializeAccountFile(appendEntry(withNl, { name: 'a', password: 'x', gid: 1, members: [] })).toString()).toBe('root:x:0:\na:x:1:\n');
    const without = parseAccountFile('group', 'root:x:0:');
    expect(serializeAccountFile(appendEntry(without, { name: 'a', password: 'x', gid: 1, members: [] })).toString()).toBe('root:x:0:\na:x:1:');
    const empty = parseAccountFile('group', '');
    expect(serializeAccountFile(appendEntry(empty, { name: 'a', password: 'x', gid: 1, members: [] })).toString()).toBe('a:x:1:\n');
  });
});
