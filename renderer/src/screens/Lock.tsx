import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { LockedSession, LoginOutcome } from '../../../protocol/src/common/ui-api';
import { useApp, useReportScreen } from '../context';
import { useI18n } from '../i18n';
import { Avatar } from '../components/Avatar';
import { Clock } from '../components/Clock';
import { SecretField } from '../components/SecretField';
import { Countdown, StatusRegion, type StatusValue } from '../components/Status';
import { ArrowRightIcon, KeyIcon, KeypadIcon, LockIcon, SwitchUserIcon } from '../components/Icons';
import { describeFailure } from '../lib/outcome';

function formatSince(lockedAt: number, locale: string): string {
  const d = new Date(lockedAt);
  const sameDay = new Date().toDateString() === d.toDateString();
  const opts: Intl.DateTimeFormatOptions = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, opts).format(d);
}

export function LockScreen({ session, onSwitchUser }: { session: LockedSession; onSwitchUser: () => void }) {
  const { t, locale } = useI18n();
  const { api } = useApp();
  const [mode, setMode] = useState<'password' | 'pin'>(session.hasPin ? 'pin' : 'password');
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<StatusValue | null>(null);
  const [throttleUntil, setThrottleUntil] = useState(0);
  const fieldRef = useRef<HTMLInputElement>(null);
  const statusId = useId();
  useReportScreen('lock', { step: mode, username: session.username });

  useEffect(() => {
    fieldRef.current?.focus();
  }, [mode, session.id]);

  const throttled = throttleUntil > Date.now();
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!api || busy || throttled || secret === '') return;
    const s = secret;
    setSecret('');
    setBusy(true);
    setStatus({ text: t('status.unlocking'), kind: 'busy' });
    let outcome: LoginOutcome;
    try {
      outcome = await api.unlock(session.id, s, mode);
    } catch {
      outcome = { ok: false, code: 'unavailable', message: 'transport error' };
    }
    setBusy(false);
    if (outcome.ok) {
      setStatus({ text: '', kind: 'success' });
      return;
    }
    const v = describeFailure(outcome, Date.now(), 'status.unlockFailed');
    if (v.throttleUntil) setThrottleUntil(v.throttleUntil);
    setStatus({ text: t(v.key), kind: 'error' });
    window.setTimeout(() => fieldRef.current?.focus(), 0);
  };

  const switchUser = async (): Promise<void> => {
    setSecret('');
    try {
      const r = await api?.switchUser();
      if (r && !r.ok) {
        setStatus({ text: t(describeFailure(r, Date.now()).key), kind: 'error' });
        return;
      }
    } catch {
      setStatus({ text: t('status.unavailable'), kind: 'error' });
      return;
    }
    onSwitchUser();
  };

  const clearThrottle = useCallback(() => setThrottleUntil(0), []);
  return (
    <main className="lock" data-testid="lock-screen" aria-label={t('lock.title')}
      onKeyDown={(e: KeyboardEvent) => {
        if (e.key === 'Escape') {
          setSecret('');
          setStatus(null);
          fieldRef.current?.focus();
        }
      }}>
      <Clock variant="big" />
      <section className="panel auth-panel lock-panel" aria-labelledby="lock-heading">
        <div className="lock-avatar">
          <Avatar fullName={session.fullName} username={session.username} avatar={session.avatar} size="lg" />
          <span className="lock-badge" aria-hidden="true"><LockIcon /></span>
        </div>
        <h1 id="lock-heading" className="auth-name" data-testid="lock-user">{session.fullName || session.username}</h1>
        <p className="muted" data-testid="lock-since">{t('lock.since', { time: formatSince(session.lockedAt, locale) })}</p>
        <form className="auth-form" onSubmit={(e) => void submit(e)} noValidate>
          <SecretField
            key={mode}
            label={mode === 'pin' ? 'PIN' : t('greeter.password')}
            hideLabel
            kind={mode}
            value={secret}
            onChange={setSecret}
            testId="unlock-field"
            inputRef={fieldRef}
            describedBy={statusId}
            invalid={status?.kind === 'error'}
            trailing={
              <button type="submit" className="icon-button submit-button" aria-label={t('lock.unlock')} title={t('lock.unlock')}
                data-testid="unlock-submit" disabled={busy || throttled}>
                {busy ? <span className="spinner spinner-sm" aria-hidden="true" /> : <ArrowRightIcon />}
              </button>
            }
          />
          {session.hasPin && (
            <button type="button" className="link-button" data-testid="unlock-mode-toggle" disabled={busy}
              onClick={() => { setSecret(''); setStatus(null); setMode(mode === 'pin' ? 'password' : 'pin'); }}>
              {mode === 'pin' ? <KeyIcon /> : <KeypadIcon />}
              {mode === 'pin' ? t('greeter.usePassword') : t('greeter.usePin')}
            </button>
          )}
        </form>
        <StatusRegion status={status} id={statusId} />
        {throttleUntil > 0 && <Countdown until={throttleUntil} onDone={clearThrottle} />}
      </section>
      <button type="button" className="button button-ghost switch-user" data-testid="switch-user" onClick={() => void switchUser()}>
        <SwitchUserIcon /> {t('lock.switchUser')}
      </button>
    </main>
  );
}
