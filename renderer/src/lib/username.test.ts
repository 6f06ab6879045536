import { describe, expect, it } from 'vitest';
import { suggestUsername, validateUsername, asciiFold } from './username';

describe('suggestUsername', () => {
  it('uses the first name, lower-cased', () => {
    expect(suggestUsername('Alice Liddell')).toBe('alice');
  });
  it('folds diacritics and transliterates', () => {
    expect(suggestUsername('Zoë Müller')).toBe('zoe');
    expect(suggestUsername('Jürgen Groß')).toBe('jurgen');
    expect(asciiFold('Groß Łukasz')).toBe('gross lukasz');
  });
  it('avoids reserved names', () => {
    expect(suggestUsername('Root Beer')).toBe('rbeer');
    expect(suggestUsername('Admin')).toBe('admin1');
  });
  it('handles names starting with digits and empty input', () => {
    expect(suggestUsername('42')).toBe('u42');
    expect(suggestUsername('   ')).toBe('user');
    expect(suggestUsername('李小龍')).toBe('user');
  });
  it('always returns a valid name', () => {
    for (const n of ['A', 'x'.repeat(80), "O'Brien", 'Jean-Luc Picard', '___', '-dash']) {
      expect(validateUsername(suggestUsername(n))).toBeNull();
    }
  });
});

describe('validateUsername', () => {
  it('accepts portable names', () => {
    expect(validateUsername('alice')).toBeNull();
    expect(validateUsername('_svc-1')).toBeNull();
  });
  it('rejects bad names', () => {
    expect(validateUsername('')).toBe('empty');
    expect(validateUsername('a'.repeat(33))).toBe('too_long');
    expect(validateUsername('1abc')).toBe('bad_start');
    expect(validateUsername('-abc')).toBe('bad_start');
    expect(validateUsername('Alice')).toBe('bad_start');
    expect(validateUsername('al ice')).toBe('bad_chars');
    expect(validateUsername('alIce')).toBe('bad_chars');
    expect(validateUsername('root')).toBe('reserved');
  });
});
