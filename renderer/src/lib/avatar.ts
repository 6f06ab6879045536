export const AVATAR_COLOURS = 12;

/** Up to two initials: "Alice Liddell" → "AL", "bob" → "B". */
export function initials(fullName: string, username = ''): string {
  const words = (fullName.trim() || username).split(/[\s._-]+/u).filter((w) => w.length > 0);
  const first = words[0];
  if (!first) return '?';
  const a = [...first][0] ?? '';
  const last = words.length > 1 ? words[words.length - 1] : undefined;
  const b = last ? ([...last][0] ?? '') : '';
  return (a + b).toLocaleUpperCase();
}

/** Stable colour index 0..AVATAR_COLOURS-1 derived from the name (FNV-1a). */
export function colourIndex(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % AVATAR_COLOURS;
}
