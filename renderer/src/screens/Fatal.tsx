import { useEffect } from 'react';
import { useI18n } from '../i18n';
import { WarningIcon } from '../components/Icons';
import type { GreeterApi } from '../../../protocol/src/common/ui-api';

export type FatalReason = 'fatal_error' | 'disconnected' | 'no_api';

/** Shown when greeterd is unreachable or failed; keeps retrying via onRetry. */
export function FatalScreen({ reason, message, api, onRetry }: { reason: FatalReason; message?: string | undefined; api: GreeterApi | null; onRetry: () => void }) {
  const { t, locale } = useI18n();
  useEffect(() => {
    // Best effort: the channel may be exactly what is broken.
    api?.reportScreen('fatal', { reason, locale }).catch(() => undefined);
  }, [api, reason, locale]);
  useEffect(() => {
    const timer = window.setInterval(onRetry, 3000);
    return () => window.clearInterval(timer);
  }, [onRetry]);
  return (
    <main className="fatal" data-testid="fatal-screen" data-reason={reason} role="alert" aria-labelledby="fatal-title">
      <div className="panel fatal-panel">
        <WarningIcon className="icon fatal-icon" />
        <h1 id="fatal-title">{t('fatal.title')}</h1>
        <p>{reason === 'no_api' ? t('fatal.noApi') : t('fatal.body')}</p>
        {message && reason === 'fatal_error' && <p className="muted fatal-detail">{message}</p>}
        <p className="console-hint">
          {t('fatal.console').split('Ctrl+Alt+F2').flatMap((part, i) =>
            i === 0 ? [part] : [<kbd key={i}>Ctrl</kbd>, '+', <kbd key={`a${i}`}>Alt</kbd>, '+', <kbd key={`f${i}`}>F2</kbd>, part])}
        </p>
        <p className="muted retrying"><span className="spinner spinner-sm" aria-hidden="true" /> {t('fatal.retrying')}</p>
        <button type="button" className="button" data-testid="fatal-retry" onClick={onRetry}>{t('common.retry')}</button>
      </div>
    </main>
  );
}
