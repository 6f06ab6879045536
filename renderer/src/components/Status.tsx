import { useEffect } from 'react';
import { useI18n } from '../i18n';
import { formatCountdown, secondsLeft } from '../lib/countdown';
import { useNow } from './Clock';

export type StatusKind = 'info' | 'busy' | 'error' | 'success';
export interface StatusValue {
  text: string;
  kind: StatusKind;
}

/** Always-present polite live region, so screen readers announce changes. */
export function StatusRegion({ status, id }: { status: StatusValue | null; id?: string }) {
  return (
    <div id={id} className={`status status-${status?.kind ?? 'none'}`} role="status" aria-live="polite" aria-atomic="true" data-testid="status">
      {status?.kind === 'busy' && <span className="spinner spinner-sm" aria-hidden="true" />}
      {status?.text ?? ''}
    </div>
  );
}

/** "Try again in 0:28" ticking down to `until` (epoch ms); calls onDone at zero. */
export function Countdown({ until, onDone }: { until: number; onDone: () => void }) {
  const { t } = useI18n();
  const now = useNow(250);
  const left = secondsLeft(until, now);
  useEffect(() => {
    if (left <= 0) onDone();
  }, [left, onDone]);
  if (left <= 0) return null;
  return (
    <p className="countdown" role="timer" aria-live="off" data-testid="countdown" data-seconds={left}>
      <span className="countdown-reason">{t('status.rateLimited')}</span>{' '}
      <span className="countdown-time">{t('status.tryAgainIn', { time: formatCountdown(left) })}</span>
    </p>
  );
}
