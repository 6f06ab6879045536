import { describe, expect, it } from 'vitest';
import { colourIndex, initials, AVATAR_COLOURS } from './avatar';

describe('avatar', () => {
  it('derives initials', () => {
    expect(initials('Alice Liddell')).toBe('AL');
    expect(initials('bob')).toBe('B');
    expect(initials('', 'carol')).toBe('C');
    expect(initials('Émile Zola Jr')).toBe('ÉJ');
    expect(initials('')).toBe('?');
  });
  it('colour index is stable and in range', () => {
    expect(colourIndex('alice')).toBe(colourIndex('alice'));
    for (const n of ['a', 'bob', 'carol', 'dave', '']) {
      const c = colourIndex(n);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThan(AVATAR_COLOURS);
    }
  });
});
