import { readdirSync, readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Independent observations for redbear-selftest: what the kernel and the disk say, never what a
 * daemon replied. Everything here reads /proc or files directly.
 */

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Process state letter from /proc/PID/stat (R, S, D, Z, ...). */
  state: string;
  comm: string;
  /** Real, effective, saved and filesystem uid (the Uid: line of /proc/PID/status). */
  uids: number[];
}

/** /proc/PID/stat and /proc/PID/status of one process, or null when it does not exist. */
export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain anything, including ') '.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uidLine = /^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '';
    return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', comm, uids: uidLine.trim().split(/\s+/).map(Number) };
  } catch {
    return null;
  }
}

/** The process exists and is not a zombie. */
export function alive(pid: number): boolean {
  const p = procInfo(pid);
  return p !== null && p.state !== 'Z' && p.state !== 'X';
}

/** Every live descendant of pid (children, grandchildren, ...), from a scan of /proc. */
export function descendants(pid: number): ProcInfo[] {
  const byParent = new Map<number, ProcInfo[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const p = procInfo(Number(name));
    if (!p) continue;
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const queue = [pid];
  while (queue.length) {
    const cur = queue.shift()!;
    for (const c of byParent.get(cur) ?? []) {
      if (c.state !== 'Z' && c.state !== 'X') out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** All uids of the Uid: line equal `uid`. */
export function runsAs(p: ProcInfo, uid: number): boolean {
  return p.uids.length === 4 && p.uids.every((u) => u === uid);
}

/** Files under dir (recursively), as absolute paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(full);
    }
  };
  await walk(dir);
  return out;
}

/** Which of the files contain any of the needles (raw bytes). */
export async function filesContaining(files: string[], needles: Buffer[]): Promise<string[]> {
  const hits: string[] = [];
  for (const f of files) {
    const data = await readFile(f).catch(() => null);
    if (data && needles.some((n) => n.length > 0 && data.includes(n))) hits.push(f);
  }
  return hits;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll fn until it returns a value other than undefined/false, or the time is up (then null). */
export async function poll<T>(timeoutMs: number, fn: () => Promise<T | undefined | false> | T | undefined | false, stepMs = 100): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() >= end) return null;
    await sleep(stepMs);
  }
}
