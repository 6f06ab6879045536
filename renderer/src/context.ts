import { createContext, useContext, useEffect } from 'react';
import type { GreeterApi, HelloInfo, ScreenInfo, ScreenName } from '../../protocol/src/common/ui-api';
import type { Locale } from './i18n';

export interface Prefs {
  locale: Locale;
  highContrast: boolean;
  largeText: boolean;
}

export interface AppContextValue {
  api: GreeterApi | null;
  hello: HelloInfo | null;
  prefs: Prefs;
  setPrefs: (update: Partial<Prefs>) => void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error('AppContext missing');
  return v;
}

/** Tell greeterd what is on screen whenever screen/step/prefs change. */
export function useReportScreen(screen: ScreenName, info: ScreenInfo = {}): void {
  const { api, prefs } = useApp();
  const full: ScreenInfo = { ...info, locale: prefs.locale, highContrast: prefs.highContrast, largeText: prefs.largeText };
  const key = JSON.stringify(full);
  useEffect(() => {
    if (!api) return;
    api.reportScreen(screen, JSON.parse(key) as ScreenInfo).catch(() => undefined);
  }, [api, screen, key]);
}
