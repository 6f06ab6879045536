import { describe, expect, it } from 'vitest';
import { format, pickLocale, translate, LOCALES } from './index';
import { en } from './en';

describe('i18n', () => {
  it('picks a supported locale', () => {
    expect(pickLocale(['de-AT'])).toBe('de');
    expect(pickLocale([undefined, 'fr-FR', 'de_DE.UTF-8'])).toBe('de');
    expect(pickLocale(['ja-JP'])).toBe('en');
    expect(pickLocale([])).toBe('en');
  });
  it('formats placeholders', () => {
    expect(format('Try again in {time}', { time: '0:05' })).toBe('Try again in 0:05');
    expect(format('{a} {b}', { a: 1 })).toBe('1 {b}');
  });
  it('translates with the exact English status texts', () => {
    expect(translate('en', 'status.authenticating')).toBe('Authenticating');
    expect(translate('en', 'status.failed')).toBe('Login failed');
    expect(translate('en', 'status.starting')).toBe('Starting session');
    expect(translate('de', 'lock.switchUser')).toBe('Benutzer wechseln');
  });
  it('every locale has every key and the same placeholders', () => {
    for (const [id, { messages }] of Object.entries(LOCALES)) {
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        const v = messages[key];
        expect(typeof v, `${id}:${key}`).toBe('string');
        const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort().join();
        expect(ph(v), `${id}:${key}`).toBe(ph(en[key]));
      }
    }
  });
});
