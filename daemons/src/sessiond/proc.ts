import { readFileSync } from 'node:fs';

/** Field 3 (state) and field 22 (start time in clock ticks) of /proc/<pid>/stat. */
export function procStat(pid: number): { state: string; start: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  if (state === undefined || start === undefined) return null;
  return { state, start };
}

/** Whether pid is a live (not zombie) process that started at `start` (when given). */
export function isAlive(pid: number, start: string | null): boolean {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return start === null || st.start === start;
}

/** Signal a leader's process group (it runs in its own session), then the pid itself. */
export function signalLeader(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // not a group leader (or gone)
  }
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}
