import { RESERVED_USERNAMES, USERNAME_MAX_LENGTH, USERNAME_PATTERN } from '../../../protocol/src/common/ui-api';

const TRANSLIT: Record<string, string> = {
  ß: 'ss', æ: 'ae', Æ: 'ae', ø: 'o', Ø: 'o', œ: 'oe', Œ: 'oe', ł: 'l', Ł: 'l', đ: 'd', Đ: 'd', þ: 'th', Þ: 'th', ð: 'd',
};

/** Lower-case ASCII letters/digits only (diacritics removed, a few letters transliterated). */
export function asciiFold(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFKD')) {
    const mapped = TRANSLIT[ch];
    if (mapped !== undefined) out += mapped;
    else if (/[A-Za-z0-9]/.test(ch)) out += ch.toLowerCase();
    else if (/\s|-|'|\.|_/.test(ch)) out += ' ';
    // combining marks and everything else are dropped
  }
  return out;
}

export type UsernameProblem = 'empty' | 'too_long' | 'bad_start' | 'bad_chars' | 'reserved';

export function validateUsername(name: string): UsernameProblem | null {
  if (name.length === 0) return 'empty';
  if (name.length > USERNAME_MAX_LENGTH) return 'too_long';
  if (!/^[a-z_]/.test(name)) return 'bad_start';
  if (!USERNAME_PATTERN.test(name)) return 'bad_chars';
  if (RESERVED_USERNAMES.includes(name)) return 'reserved';
  return null;
}

/**
 * Suggest a portable POSIX user name from a full name, GNOME style:
 * "Zoë Müller-Lüdenscheidt" → "zoe". Falls back to the joined words, then "user".
 */
export function suggestUsername(fullName: string): string {
  const words = asciiFold(fullName).split(/\s+/).filter((w) => w.length > 0);
  const candidates: string[] = [];
  if (words[0]) candidates.push(words[0]);
  if (words.length > 1) {
    candidates.push(words[0]!.charAt(0) + words[words.length - 1]!);
    candidates.push(words.join(''));
  }
  for (const raw of candidates) {
    let c = raw.slice(0, USERNAME_MAX_LENGTH);
    if (/^[0-9]/.test(c)) c = `u${c}`.slice(0, USERNAME_MAX_LENGTH);
    if (validateUsername(c) === null) return c;
  }
  const first = candidates[0];
  if (first && /^[a-z]/.test(first)) {
    const numbered = `${first.slice(0, USERNAME_MAX_LENGTH - 1)}1`;
    if (validateUsername(numbered) === null) return numbered;
  }
  return 'user';
}
