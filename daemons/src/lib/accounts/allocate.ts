/** uid/gid allocation, following useradd's find_new_uid() policy. */
import type { GroupEntry, PasswdEntry } from './formats.js';

/**
 * Pick a uid in [min, max] unused as a uid and (for a user private group) as
 * a gid: one above the highest used id in the range (so ids of deleted users
 * are not recycled while possible), else the lowest gap. null = exhausted.
 */
export function nextFreeId(usedA: Iterable<number>, usedB: Iterable<number>, min: number, max: number): number | null {
  const used = new Set<number>([...usedA, ...usedB]);
  let highest = min - 1;
  for (const id of used) if (id >= min && id <= max && id > highest) highest = id;
  if (highest < max) return highest + 1;
  for (let id = min; id <= max; id++) if (!used.has(id)) return id;
  return null;
}

export function nextFreeUid(passwd: readonly PasswdEntry[], group: readonly GroupEntry[], min: number, max: number): number | null {
  return nextFreeId(
    passwd.map((p) => p.uid),
    group.map((g) => g.gid),
    min,
    max,
  );
}

/** System group id as `groupadd -r`: the highest free gid in [min, max]. */
export function nextFreeSystemGid(group: readonly GroupEntry[], min: number, max: number): number | null {
  const used = new Set(group.map((g) => g.gid));
  for (let id = max; id >= min; id--) if (!used.has(id)) return id;
  return null;
}
