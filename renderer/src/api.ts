import type { GreeterApi } from '../../protocol/src/common/ui-api';

declare global {
  interface Window {
    greeter?: GreeterApi;
  }
}
declare const __REDBEAR_ALLOW_FAKE__: boolean;

/**
 * The fake greeterd is used only when window.greeter is absent AND either this
 * is the Vite dev server or the URL has ?fake=1. Builds made with
 * REDBEAR_NO_FAKE=1 do not contain the fake at all. A production page without
 * window.greeter shows the fatal screen (and keeps looking for the API).
 */
export function fakeAllowed(search: string): boolean {
  if (!__REDBEAR_ALLOW_FAKE__) return false;
  return import.meta.env.DEV || new URLSearchParams(search).get('fake') === '1';
}

export async function resolveApi(): Promise<GreeterApi | null> {
  if (window.greeter) return window.greeter;
  if (__REDBEAR_ALLOW_FAKE__ && fakeAllowed(location.search)) {
    const { createFakeApi } = await import('./dev/fake-api');
    return createFakeApi();
  }
  return null;
}

/** Resolves when the shell installs window.greeter late (web shell client). */
export function waitForNativeApi(onFound: (api: GreeterApi) => void): () => void {
  const check = (): void => {
    if (window.greeter) {
      stop();
      onFound(window.greeter);
    }
  };
  const timer = window.setInterval(check, 1000);
  window.addEventListener('redbear-greeter-ready', check);
  const stop = (): void => {
    window.clearInterval(timer);
    window.removeEventListener('redbear-greeter-ready', check);
  };
  return stop;
}
