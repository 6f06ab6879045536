import { useEffect, useState } from 'react';
import { useI18n } from '../i18n';

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let timer = 0;
    const tick = (): void => {
      setNow(Date.now());
      timer = window.setTimeout(tick, intervalMs - (Date.now() % intervalMs) + 5);
    };
    timer = window.setTimeout(tick, intervalMs - (Date.now() % intervalMs) + 5);
    return () => window.clearTimeout(timer);
  }, [intervalMs]);
  return now;
}

export function Clock({ variant }: { variant: 'bar' | 'big' }) {
  const { locale } = useI18n();
  const now = new Date(useNow());
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(now);
  const date = new Intl.DateTimeFormat(locale, { weekday: variant === 'big' ? 'long' : 'short', day: 'numeric', month: variant === 'big' ? 'long' : 'short' }).format(now);
  if (variant === 'bar') {
    return (
      <time className="clock-bar" data-testid="clock" dateTime={now.toISOString()}>
        <span className="clock-date">{date}</span> <span className="clock-time">{time}</span>
      </time>
    );
  }
  return (
    <time className="clock-big" data-testid="clock-big" dateTime={now.toISOString()}>
      <span className="clock-time">{time}</span>
      <span className="clock-date">{date}</span>
    </time>
  );
}
