import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SESSION_STATES } from '@redbear/protocol';
import type { SessionData } from './session.js';
import { writeFileAtomic } from '../runtime/index.js';

/**
 * Session state under /run/redbear-sessiond/ (0700 root; the file 0600): what a restarted
 * sessiond needs to re-adopt live sessions (leader pid + start time, lock state, keystore
 * token) or clean up dead ones. /run is tmpfs: nothing survives a reboot.
 */
export const STATE_FILE = 'sessions.json';

export async function saveState(dir: string, sessions: SessionData[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, STATE_FILE);
  await writeFileAtomic(file, JSON.stringify({ version: 1, sessions }, null, 1) + '\n', { mode: 0o600 });
}

function valid(s: unknown): s is SessionData {
  if (!s || typeof s !== 'object') return false;
  const o = s as Record<string, unknown>;
  return (
    typeof o.sid === 'string' &&
    /^[A-Za-z0-9_-]{1,64}$/.test(o.sid) &&
    Number.isInteger(o.uid) &&
    Number.isInteger(o.gid) &&
    typeof o.username === 'string' &&
    Number.isInteger(o.vt) &&
    typeof o.state === 'string' &&
    (SESSION_STATES as readonly string[]).includes(o.state) &&
    (o.leader_pid === null || Number.isInteger(o.leader_pid)) &&
    (o.keystore_token === null || typeof o.keystore_token === 'string')
  );
}

/** Load the persisted sessions; a missing or unreadable file is an empty list (logged by the caller). */
export async function loadState(dir: string): Promise<{ sessions: SessionData[]; problem: string | null }> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, STATE_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { sessions: [], problem: code === 'ENOENT' ? null : `cannot read state: ${code}` };
  }
  try {
    const data = JSON.parse(text) as { version?: unknown; sessions?: unknown };
    if (data.version !== 1 || !Array.isArray(data.sessions)) return { sessions: [], problem: 'state file has an unknown format' };
    const sessions = data.sessions.filter(valid);
    return { sessions, problem: sessions.length === data.sessions.length ? null : 'state file had invalid entries' };
  } catch {
    return { sessions: [], problem: 'state file is not JSON' };
  }
}
