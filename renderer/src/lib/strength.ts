/**
 * A small local password strength estimator (no dictionary download).
 * Scores 0–4 like zxcvbn; the daemon's own verdict (returned by
 * createFirstUser) is authoritative.
 */
export type StrengthWarning = 'too_short' | 'common' | 'contains_name' | 'repeated' | 'sequence' | 'only_digits';

export interface StrengthEstimate {
  score: 0 | 1 | 2 | 3 | 4;
  /** Rough log2 of the guesses needed. */
  bits: number;
  warning?: StrengthWarning;
}

const COMMON = new Set([
  'password', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'letmein', 'welcome', 'qwerty', 'qwertz', 'azerty', 'iloveyou',
  'admin', 'administrator', 'monkey', 'dragon', 'football', 'baseball', 'sunshine', 'princess', 'master', 'shadow',
  'superman', 'batman', 'trustno1', 'hello', 'freedom', 'whatever', 'starwars', 'secret', 'passwort', 'hallo',
  'geheim', 'motdepasse', 'soleil', 'bonjour', 'linux', 'redbear', 'changeme', 'login', 'abc123', 'football1',
  'qwertyuiop', 'asdfghjkl', 'zxcvbnm', '123456', '1234567', '12345678', '123456789', '1234567890', '111111',
  '000000', '654321', '123123', 'computer', 'michael', 'jessica', 'charlie', 'summer', 'winter', 'spring', 'autumn',
]);

const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '01234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop', 'azertyuiop'];

function poolSize(pw: string): number {
  let pool = 0;
  if (/[a-z]/.test(pw)) pool += 26;
  if (/[A-Z]/.test(pw)) pool += 26;
  if (/[0-9]/.test(pw)) pool += 10;
  if (/[^A-Za-z0-9]/.test(pw)) pool += 33;
  // eslint-disable-next-line no-control-regex -- "anything outside ASCII" is the point
  if (/[^\u0000-\u007f]/u.test(pw)) pool += 60;
  return Math.max(pool, 1);
}

/** Characters that belong to a run of ≥3 repeated or sequential characters. */
function patternChars(pw: string): { repeated: number; sequential: number } {
  const lower = pw.toLowerCase();
  let repeated = 0;
  let sequential = 0;
  for (let i = 0; i < lower.length; ) {
    let j = i + 1;
    while (j < lower.length && lower[j] === lower[i]) j++;
    if (j - i >= 3) repeated += j - i - 1;
    i = j;
  }
  for (const seq of SEQUENCES) {
    for (const s of [seq, [...seq].reverse().join('')]) {
      for (let len = s.length; len >= 3; len--) {
        for (let k = 0; k + len <= s.length; k++) {
          if (lower.includes(s.slice(k, k + len))) {
            sequential = Math.max(sequential, len - 1);
            len = 0; // break both loops for this sequence
            break;
          }
        }
      }
    }
  }
  return { repeated, sequential };
}

/** Strip leet-speak and trailing digits/symbols so "P@ssw0rd123!" is seen as "password". */
function deLeet(pw: string): string {
  return pw
    .toLowerCase()
    .replace(/[@4]/g, 'a')
    .replace(/3/g, 'e')
    .replace(/[1!|]/g, 'i')
    .replace(/0/g, 'o')
    .replace(/[$5]/g, 's')
    .replace(/7/g, 't');
}

export function estimateStrength(password: string, context: readonly string[] = []): StrengthEstimate {
  if (password.length === 0) return { score: 0, bits: 0 };
  const chars = [...password];
  const length = chars.length;
  let bits = length * Math.log2(poolSize(password));
  let warning: StrengthWarning | undefined;

  const { repeated, sequential } = patternChars(password);
  if (repeated > 0) {
    bits -= repeated * Math.log2(poolSize(password));
    warning = 'repeated';
  }
  if (sequential > 0) {
    bits -= sequential * Math.log2(poolSize(password)) * 0.9;
    warning = 'sequence';
  }

  const lower = password.toLowerCase();
  const core = lower.replace(/[^a-z]+$/g, '').replace(/^[^a-z]+/g, '');
  const coreLeet = deLeet(password).replace(/[^a-z]+$/g, '');
  if (COMMON.has(lower) || COMMON.has(core) || COMMON.has(coreLeet) || COMMON.has(deLeet(password))) {
    const extra = length - Math.min(core.length || length, length);
    bits = Math.min(bits, 10 + extra * 3.3);
    warning = 'common';
  }

  for (const part of context) {
    const p = part.toLowerCase();
    if (p.length >= 3 && lower.includes(p)) {
      bits -= p.length * Math.log2(poolSize(password)) * 0.85;
      warning = 'contains_name';
    }
  }

  if (/^[0-9]+$/.test(password)) {
    bits = Math.min(bits, length * 3.32);
    warning ??= 'only_digits';
  }

  if (length < 8) {
    warning = 'too_short';
    bits = Math.min(bits, 27);
  }
  bits = Math.max(0, bits);

  const score: StrengthEstimate['score'] = bits < 28 ? 0 : bits < 40 ? 1 : bits < 56 ? 2 : bits < 72 ? 3 : 4;
  const result: StrengthEstimate = { score, bits: Math.round(bits) };
  if (warning !== undefined && score < 4) result.warning = warning;
  return result;
}
