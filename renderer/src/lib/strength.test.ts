import { describe, expect, it } from 'vitest';
import { estimateStrength } from './strength';

describe('estimateStrength', () => {
  it('empty is 0', () => {
    expect(estimateStrength('').score).toBe(0);
  });
  it('short passwords are weak', () => {
    const r = estimateStrength('aB3$x');
    expect(r.score).toBe(0);
    expect(r.warning).toBe('too_short');
  });
  it('common passwords are weak even with decoration', () => {
    for (const pw of ['password', 'Password1', 'P@ssw0rd!', 'qwerty123', 'letmein2024']) {
      const r = estimateStrength(pw);
      expect(r.score, pw).toBeLessThanOrEqual(1);
    }
    expect(estimateStrength('password').warning).toBe('common');
  });
  it('sequences and repeats are penalised', () => {
    expect(estimateStrength('abcdefgh12').score).toBeLessThanOrEqual(1);
    expect(estimateStrength('aaaaaaaaaaaa').score).toBe(0);
    expect(estimateStrength('aaaaaaaaaaaa').warning).toBe('repeated');
  });
  it('digits only are weak', () => {
    expect(estimateStrength('83920174').score).toBeLessThanOrEqual(1);
  });
  it('names from context are penalised', () => {
    const withName = estimateStrength('alicewonder', ['alice']);
    expect(withName.warning).toBe('contains_name');
    expect(withName.score).toBeLessThan(estimateStrength('alicewonder').score + 1);
  });
  it('long random passphrases are strong', () => {
    expect(estimateStrength('correct-Horse-battery-st4ple').score).toBe(4);
    expect(estimateStrength('T9#kq!v2Lm@x').score).toBeGreaterThanOrEqual(3);
  });
  it('is monotone-ish in length for random text', () => {
    expect(estimateStrength('Xk9#mQ2v').score).toBeLessThanOrEqual(estimateStrength('Xk9#mQ2vLp7&wZ4n').score);
  });
});
