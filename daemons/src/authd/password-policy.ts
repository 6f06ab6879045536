import { ProtocolError } from '@redbear/protocol';
import type { AuthdConfig } from './config.js';

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  warning?: string;
}

const COMMON = new Set([
  'password', 'passw0rd', 'password1', '123456', '1234567', '12345678', '123456789', '1234567890', 'qwerty', 'qwertyuiop', 'azerty',
  'letmein', 'welcome', 'admin', 'administrator', 'iloveyou', 'monkey', 'dragon', 'sunshine', 'princess', 'football', 'baseball',
  'abc123', '111111', '000000', 'trustno1', 'master', 'shadow', 'superman', 'changeme', 'secret', 'redbear', 'linux', 'root', 'toor',
]);

/**
 * A small, offline strength estimate (0–4, zxcvbn's scale): length and character variety,
 * minus common passwords, the username/full name, and runs/repeats. Good enough to warn; the
 * hard rule is the minimum length.
 */
export function estimateStrength(password: string, context: string[] = []): Strength {
  const pw = password.normalize('NFKC');
  const lower = pw.toLowerCase();
  const chars = [...pw];
  if (chars.length === 0) return { score: 0, warning: 'empty password' };
  if (COMMON.has(lower) || COMMON.has(lower.replace(/[0-9!]+$/, ''))) return { score: 0, warning: 'this is a very common password' };
  for (const c of context) {
    const w = c.toLowerCase().trim();
    if (w.length >= 3 && lower.includes(w)) return { score: 1, warning: 'avoid your name or user name' };
  }
  let classes = 0;
  for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/]) if (re.test(pw)) classes++;
  const unique = new Set(chars).size;
  // Rough entropy in bits: length × log2(alphabet), discounted for repeats.
  const alphabet = [26, 26, 10, 33].reduce((a, n, i) => a + ([/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/][i]!.test(pw) ? n : 0), 0);
  let bits = Math.min(chars.length, unique * 2) * Math.log2(Math.max(alphabet, 2));
  if (/(.)\1{2,}/.test(pw)) bits *= 0.8;
  if (/(?:0123|1234|2345|3456|4567|5678|6789|abcd|bcde|cdef|qwer|asdf|zxcv)/i.test(pw)) bits *= 0.8;
  const score = bits < 28 ? 0 : bits < 36 ? 1 : bits < 50 ? 2 : bits < 64 ? 3 : 4;
  const warning = score >= 3 ? undefined : chars.length < 12 ? 'a longer password would be stronger' : classes < 3 ? 'mix letters, digits and symbols' : 'avoid repeats and sequences';
  return warning ? { score: score as Strength['score'], warning } : { score: score as Strength['score'] };
}

/** Refuse passwords below the minimum length; below `min_strength` only when configured to enforce. */
export function checkPasswordPolicy(password: string, context: string[], policy: AuthdConfig['password_policy']): Strength {
  if ([...password].length < policy.min_length) {
    throw new ProtocolError('weak_password', `the password must have at least ${policy.min_length} characters`, { field: '/password' });
  }
  const s = estimateStrength(password, context);
  if (policy.enforce_strength && s.score < policy.min_strength) {
    throw new ProtocolError('weak_password', `the password is too weak${s.warning ? `: ${s.warning}` : ''}`, { field: '/password' });
  }
  return s;
}
