import { createContext, useContext } from 'react';
import { en, type MessageKey, type Messages } from './en';
import { de } from './de';

export type { MessageKey } from './en';

export const LOCALES = {
  en: { name: 'English', messages: en as Messages },
  de: { name: 'Deutsch', messages: de },
} as const;
export type Locale = keyof typeof LOCALES;
export const LOCALE_IDS = Object.keys(LOCALES) as Locale[];

/** First supported locale among BCP 47 candidates ("de-AT" → "de"), else "en". */
export function pickLocale(candidates: readonly (string | undefined | null)[]): Locale {
  for (const c of candidates) {
    if (!c) continue;
    const base = c.toLowerCase().split(/[-_.@]/)[0] ?? '';
    if ((LOCALE_IDS as string[]).includes(base)) return base as Locale;
  }
  return 'en';
}

export type Params = Record<string, string | number>;

/** "{name}" placeholders; unknown placeholders are left as-is. */
export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const table = LOCALES[locale]?.messages ?? en;
  return format(table[key] ?? en[key] ?? key, params);
}

export interface I18n {
  locale: Locale;
  t: (key: MessageKey, params?: Params) => string;
}

export function makeI18n(locale: Locale): I18n {
  return { locale, t: (key, params) => translate(locale, key, params) };
}

export const I18nContext = createContext<I18n>(makeI18n('en'));
export const useI18n = (): I18n => useContext(I18nContext);
