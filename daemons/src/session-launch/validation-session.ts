import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The bounded validation session (seed §11.2): runs as the user in place of the desktop,
 * checks what a desktop would rely on, writes its proof into XDG_RUNTIME_DIR and exits 0.
 * sessiond turns the proof plus exit 0 into /run/redbear-kde-session.validation-success.
 */
const env = process.env;
const runtime = env.XDG_RUNTIME_DIR;
const problems: string[] = [];
if (!runtime) problems.push('XDG_RUNTIME_DIR is not set');
if (process.getuid?.() === 0) problems.push('running as root');
for (const k of ['HOME', 'USER', 'XDG_SESSION_ID', 'XDG_SESSION_TYPE', 'XDG_VTNR']) if (!env[k]) problems.push(`${k} is not set`);
if (problems.length || !runtime) {
  process.stderr.write(`validation session failed: ${problems.join('; ')}\n`);
  process.exit(1);
}
writeFileSync(
  path.join(runtime, 'redbear-validation.json'),
  JSON.stringify({ uid: process.getuid?.(), gid: process.getgid?.(), groups: process.getgroups?.(), sid: env.XDG_SESSION_ID, cwd: process.cwd(), dbus: env.DBUS_SESSION_BUS_ADDRESS ?? null }) + '\n',
  { mode: 0o600 },
);
process.stdout.write(`validation session ok for ${env.USER} (${env.XDG_SESSION_ID})\n`);
process.exit(0);
