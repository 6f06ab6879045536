import { TypeCompiler } from '@sinclair/typebox/compiler';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { session } from '@redbear/protocol';
import { specProblem } from '../../src/session-launch/spec-check.js';

/**
 * session-launch checks its spec without TypeBox (startup time). These tests keep that check
 * identical to the protocol's schema: the schema's compiled code is pinned here (a schema change
 * fails the first test, pointing at spec-check.ts), and both checks must agree on many specs.
 */
const PINNED = `const local_0 = /^[A-Za-z0-9_-]{1,64}$/;
const local_1 = /^[a-z_][a-z0-9_-]*[$]?$/;
return function check(value) {
  return (
    (typeof value === 'object' && value !== null && !Array.isArray(value)) &&
    (typeof value['sid'] === 'string') &&
    value['sid'].length <= 64 &&
    local_0.test(value['sid']) &&
    Number.isInteger(value['uid']) &&
    value['uid'] <= 4294967294 &&
    value['uid'] >= 0 &&
    Number.isInteger(value['gid']) &&
    value['gid'] <= 4294967294 &&
    value['gid'] >= 0 &&
    (typeof value['username'] === 'string') &&
    value['username'].length <= 32 &&
    value['username'].length >= 1 &&
    local_1.test(value['username']) &&
    (typeof value['home'] === 'string') &&
    value['home'].length <= 4096 &&
    (typeof value['shell'] === 'string') &&
    value['shell'].length <= 4096 &&
    Number.isInteger(value['vt']) &&
    value['vt'] <= 63 &&
    value['vt'] >= 1 &&
    (typeof value['seat'] === 'string') &&
    value['seat'].length <= 64 &&
    (typeof value['group_file'] === 'string') &&
    value['group_file'].length <= 4096 &&
    (typeof value['runtime_dir'] === 'string') &&
    value['runtime_dir'].length <= 4096 &&
    (typeof value['log_file'] === 'string') &&
    value['log_file'].length <= 4096 &&
    Array.isArray(value['command']) &&
    value['command'].length <= 64 &&
    value['command'].length >= 1 &&
    ((array) => { for(const value of array) if(!(((typeof value === 'string') && value.length <= 4096))) { return false }; return true; })(value['command']) &&
    (((typeof value['dbus_run_session'] === 'string') && value['dbus_run_session'].length <= 4096) || ((value['dbus_run_session'] === null))) &&
    (typeof value['validation'] === 'boolean') &&
    Number.isInteger(value['validation_timeout_ms']) &&
    value['validation_timeout_ms'] <= 600000 &&
    value['validation_timeout_ms'] >= 100 &&
    Object.getOwnPropertyNames(value).length === 15
  )
}`;

const typebox = TypeCompiler.Compile(session.SessionLaunchSpec);

const valid = (): Record<string, unknown> => ({
  sid: 's0123456789abcdef', uid: 1000, gid: 1000, username: 'alice', home: '/home/alice', shell: '/bin/bash', vt: 4, seat: 'seat0',
  group_file: '/etc/group', runtime_dir: '/run/user/1000', log_file: '/var/log/x.log', command: ['redbear-kde-session'],
  dbus_run_session: '/usr/bin/dbus-run-session', validation: false, validation_timeout_ms: 1000,
});

const FIELDS = Object.keys(valid());
const edgy = fc.oneof(
  fc.constantFrom<unknown>(
    null, undefined, true, false, 0, -1, 1, 63, 64, 99, 100, 600_000, 600_001, 4294967294, 4294967295, 1.5, NaN, Infinity, '', 'a', '-x', 'alice$', 'Alice',
    'x'.repeat(32), 'x'.repeat(33), 'x'.repeat(64), 'x'.repeat(65), 'a'.repeat(4096), 'a'.repeat(4097), 'a:b', 'a.b', [], [''], ['a'.repeat(4097)], Array(64).fill('x'), Array(65).fill('x'), [1], {},
  ),
  fc.string({ maxLength: 70 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 3 }),
);

describe('session-launch spec check', () => {
  it('the protocol schema is still the one spec-check.ts transcribes', () => {
    expect(TypeCompiler.Code(session.SessionLaunchSpec, [], { language: 'javascript' })).toBe(PINNED);
  });

  it('accepts exactly what the TypeBox schema accepts (mutated specs)', () => {
    expect(specProblem(valid())).toBeNull();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...FIELDS, 'extra', '__proto__'), edgy, fc.boolean()), { minLength: 1, maxLength: 3 }),
        (edits) => {
          const v = valid();
          for (const [k, x, remove] of edits) {
            if (remove) delete v[k];
            else Object.defineProperty(v, k, { value: x, enumerable: true, configurable: true, writable: true });
          }
          expect(specProblem(v) === null).toBe(typebox.Check(v));
        },
      ),
      { numRuns: 5000 },
    );
    for (const x of [null, [], 'spec', 1, [valid()]]) expect(specProblem(x) === null).toBe(typebox.Check(x));
  });

  it('names the first bad field', () => {
    expect(specProblem({ ...valid(), command: [] })).toBe('/command');
    expect(specProblem({ ...valid(), extra: 1 })).toBe('/');
    expect(specProblem({ ...valid(), uid: -1 })).toBe('/uid');
  });
});
