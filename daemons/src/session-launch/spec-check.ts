/**
 * The check of protocol's `session.SessionLaunchSpec`, written out by hand so that
 * redbear-session-launch does not load TypeBox and the whole protocol registry at startup
 * (that import alone cost ~150–200 ms of every login). It is a transcription of
 * `TypeCompiler.Code(session.SessionLaunchSpec)`; test/session-launch/spec-check.test.ts
 * pins that code and compares both checks on many generated specs, so a schema change that
 * is not made here too fails the tests.
 */
const SID = /^[A-Za-z0-9_-]{1,64}$/;
const USERNAME = /^[a-z_][a-z0-9_-]*[$]?$/;

const FIELDS = 15;

const str = (max: number, min = 0) => (v: unknown): boolean => typeof v === 'string' && v.length <= max && v.length >= min;
const int = (min: number, max: number) => (v: unknown): boolean => Number.isInteger(v) && (v as number) <= max && (v as number) >= min;

const CHECKS: ReadonlyArray<readonly [field: string, ok: (v: unknown) => boolean]> = [
  ['sid', (v) => str(64)(v) && SID.test(v as string)],
  ['uid', int(0, 4294967294)],
  ['gid', int(0, 4294967294)],
  ['username', (v) => str(32, 1)(v) && USERNAME.test(v as string)],
  ['home', str(4096)],
  ['shell', str(4096)],
  ['vt', int(1, 63)],
  ['seat', str(64)],
  ['group_file', str(4096)],
  ['runtime_dir', str(4096)],
  ['log_file', str(4096)],
  ['command', (v) => Array.isArray(v) && v.length <= 64 && v.length >= 1 && v.every(str(4096))],
  ['dbus_run_session', (v) => v === null || str(4096)(v)],
  ['validation', (v) => typeof v === 'boolean'],
  ['validation_timeout_ms', int(100, 600_000)],
];

/** null when `value` is a valid SessionLaunchSpec, else the JSON pointer of the first bad field. */
export function specProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return '/';
  const o = value as Record<string, unknown>;
  for (const [field, ok] of CHECKS) if (!ok(o[field])) return `/${field}`;
  // additionalProperties: false (every known field is present, so the count says it all).
  if (Object.getOwnPropertyNames(o).length !== FIELDS) return '/';
  return null;
}
