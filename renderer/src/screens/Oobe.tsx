import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { FULL_NAME_MAX_LENGTH, PIN_PATTERN, USERNAME_MAX_LENGTH, type NewUserRequest } from '../../../protocol/src/common/ui-api';
import { useApp, useReportScreen } from '../context';
import { useI18n, type MessageKey } from '../i18n';
import { SecretField } from '../components/SecretField';
import { StrengthMeter } from '../components/StrengthMeter';
import { StatusRegion, type StatusValue } from '../components/Status';
import { estimateStrength } from '../lib/strength';
import { suggestUsername, validateUsername } from '../lib/username';
import { WarningIcon } from '../components/Icons';

export type OobeStep = 'welcome' | 'name' | 'username' | 'password' | 'pin' | 'creating' | 'recovery' | 'confirm' | 'starting';
const NUMBERED: OobeStep[] = ['welcome', 'name', 'username', 'password', 'pin', 'recovery', 'confirm'];

interface Props {
  /** The continue token was rejected: fall back to the greeter with this user preselected. */
  onFallbackToGreeter: (username: string) => void;
}

export function Oobe({ onFallbackToGreeter }: Props) {
  const { t, locale } = useI18n();
  const { api, hello } = useApp();
  const [step, setStep] = useState<OobeStep>('welcome');
  const [fullName, setFullName] = useState('');
  const [username, setUsername] = useState('');
  const [usernameEdited, setUsernameEdited] = useState(false);
  const [password, setPassword] = useState('');
  const [password2, setPassword2] = useState('');
  const [pin, setPin] = useState('');
  const [pin2, setPin2] = useState('');
  const [error, setError] = useState<string>();
  const [recoveryKey, setRecoveryKey] = useState('');
  const [token, setToken] = useState('');
  const [acknowledged, setAcknowledged] = useState(false);
  const [status, setStatus] = useState<StatusValue | null>(null);
  const firstFieldRef = useRef<HTMLInputElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const errorId = useId();
  const strengthId = useId();
  useReportScreen('oobe', { step });

  useEffect(() => {
    setError(undefined);
    if (firstFieldRef.current) firstFieldRef.current.focus();
    else headingRef.current?.parentElement?.querySelector<HTMLElement>('[data-autofocus]')?.focus();
  }, [step]);

  const context = useMemo(() => [username, ...fullName.split(/\s+/)].filter((s) => s.length >= 3), [username, fullName]);
  const strength = password ? estimateStrength(password, context) : null;
  const usernameProblem = validateUsername(username);

  const go = (s: OobeStep): void => setStep(s);
  const back = (): void => {
    const order: Partial<Record<OobeStep, OobeStep>> = { name: 'welcome', username: 'name', password: 'username', pin: 'password', confirm: 'recovery' };
    const prev = order[step];
    if (prev) go(prev);
  };

  const create = async (withPin = true): Promise<void> => {
    if (!api) return;
    const req: NewUserRequest = { fullName: fullName.trim(), username, password, locale };
    if (withPin && pin) req.pin = pin;
    // the request now owns the secrets; drop our copies
    setPassword('');
    setPassword2('');
    setPin('');
    setPin2('');
    go('creating');
    let r;
    try {
      r = await api.createFirstUser(req);
    } catch {
      r = { ok: false as const, code: 'unavailable' as const, message: 'transport error' };
    }
    if (r.ok) {
      setRecoveryKey(r.recoveryKey);
      setToken(r.continueToken);
      go('recovery');
      return;
    }
    const target: OobeStep = r.code === 'username_taken' || r.code === 'invalid_username' ? 'username' : 'password';
    go(target);
    // set after the step effect cleared it
    window.setTimeout(() => {
      if (r.code === 'username_taken') setError(t('oobe.username.taken'));
      else if (r.code === 'invalid_username') setError(t('oobe.username.bad_chars'));
      else if (r.code === 'weak_password') setError(t('oobe.password.tooWeak'));
      else setError(t('oobe.failed', { message: r.message }));
    }, 0);
  };

  const finish = async (): Promise<void> => {
    if (!api || !acknowledged) return;
    go('starting');
    setStatus({ text: t('status.starting'), kind: 'busy' });
    setRecoveryKey('');
    let r;
    try {
      r = await api.completeFirstBoot(token);
    } catch {
      r = { ok: false as const, code: 'unavailable' as const, message: 'transport error' };
    }
    setToken('');
    if (!r.ok) onFallbackToGreeter(username);
  };

  const next = (e?: FormEvent): void => {
    e?.preventDefault();
    switch (step) {
      case 'welcome':
        return go('name');
      case 'name':
        if (fullName.trim() === '') return setError(t('oobe.name.empty'));
        if (!usernameEdited) setUsername(suggestUsername(fullName));
        return go('username');
      case 'username':
        if (usernameProblem) return setError(t(`oobe.username.${usernameProblem}` as MessageKey));
        return go('password');
      case 'password':
        if (!strength || strength.score < 2) return setError(t('oobe.password.tooWeak'));
        if (password !== password2) return setError(t('oobe.password.mismatch'));
        return go('pin');
      case 'pin':
        if (pin !== '' || pin2 !== '') {
          if (!PIN_PATTERN.test(pin)) return setError(t('oobe.pin.invalid'));
          if (pin !== pin2) return setError(t('oobe.pin.mismatch'));
        }
        void create();
        return;
      case 'recovery':
        setAcknowledged(false);
        return go('confirm');
      case 'confirm':
        void finish();
        return;
      default:
        return;
    }
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.preventDefault();
      back();
    }
  };

  const index = NUMBERED.indexOf(step);
  const errorEl = error ? <p id={errorId} className="form-error" role="alert" data-testid="oobe-error">{error}</p> : null;
  const describe = error ? errorId : undefined;

  let title: MessageKey;
  let body: MessageKey | null;
  let content: ReactNode = null;
  switch (step) {
    case 'welcome':
      title = 'oobe.welcome.title';
      body = 'oobe.welcome.body';
      break;
    case 'name':
      title = 'oobe.name.title';
      body = 'oobe.name.body';
      content = (
        <div className="field">
          <label htmlFor="oobe-fullname" className="field-label">{t('oobe.name.label')}</label>
          <input id="oobe-fullname" ref={firstFieldRef} className="input" type="text" autoComplete="off" maxLength={FULL_NAME_MAX_LENGTH}
            value={fullName} data-testid="oobe-fullname" aria-invalid={!!error || undefined} aria-describedby={describe}
            onChange={(e) => setFullName(e.target.value)} />
        </div>
      );
      break;
    case 'username':
      title = 'oobe.username.title';
      body = 'oobe.username.body';
      content = (
        <div className="field">
          <label htmlFor="oobe-username" className="field-label">{t('oobe.username.label')}</label>
          <input id="oobe-username" ref={firstFieldRef} className="input mono" type="text" autoComplete="off" autoCapitalize="off"
            spellCheck={false} maxLength={USERNAME_MAX_LENGTH + 8} value={username} data-testid="oobe-username"
            aria-invalid={!!error || undefined} aria-describedby={`oobe-username-hint${describe ? ` ${describe}` : ''}`}
            onChange={(e) => { setUsername(e.target.value); setUsernameEdited(true); setError(undefined); }} />
          <p id="oobe-username-hint" className="hint">{t('oobe.username.hint')}</p>
        </div>
      );
      break;
    case 'password':
      title = 'oobe.password.title';
      body = 'oobe.password.body';
      content = (
        <>
          <SecretField label={t('oobe.password.label')} value={password} onChange={(v) => { setPassword(v); setError(undefined); }}
            testId="oobe-password" inputRef={firstFieldRef} describedBy={strengthId} autoComplete="new-password" />
          <StrengthMeter id={strengthId} estimate={strength} />
          <SecretField label={t('oobe.password.confirm')} value={password2} onChange={(v) => { setPassword2(v); setError(undefined); }}
            testId="oobe-password-confirm" describedBy={describe} invalid={error === t('oobe.password.mismatch')} autoComplete="new-password" />
        </>
      );
      break;
    case 'pin':
      title = 'oobe.pin.title';
      body = 'oobe.pin.body';
      content = (
        <div className="pin-row">
          <SecretField label={t('oobe.pin.label')} kind="pin" value={pin} onChange={(v) => { setPin(v); setError(undefined); }}
            testId="oobe-pin" inputRef={firstFieldRef} describedBy={describe} />
          <SecretField label={t('oobe.pin.confirm')} kind="pin" value={pin2} onChange={(v) => { setPin2(v); setError(undefined); }}
            testId="oobe-pin-confirm" describedBy={describe} />
        </div>
      );
      break;
    case 'creating':
      title = 'oobe.creating';
      body = null;
      content = <div className="center"><span className="spinner" aria-hidden="true" /></div>;
      break;
    case 'recovery':
      title = 'oobe.recovery.title';
      body = 'oobe.recovery.body';
      content = (
        <>
          <output className="recovery-key" data-testid="recovery-key">
            {recoveryKey.split('-').map((g, i) => (
              <span key={i}>{i > 0 && <span className="key-sep">-</span>}{g}</span>
            ))}
          </output>
          <p className="warning-box"><WarningIcon /> <span>{t('oobe.recovery.warning')}</span></p>
        </>
      );
      break;
    case 'confirm':
      title = 'oobe.confirm.title';
      body = 'oobe.confirm.body';
      content = (
        <>
          <p className="warning-box"><WarningIcon /> <span>{t('oobe.recovery.warning')}</span></p>
          <label className="check-row">
            <input type="checkbox" checked={acknowledged} data-testid="recovery-ack" data-autofocus
              onChange={(e) => setAcknowledged(e.target.checked)} />
            <span>{t('oobe.confirm.check')}</span>
          </label>
        </>
      );
      break;
    case 'starting':
      title = 'oobe.welcome.title';
      body = null;
      content = <StatusRegion status={status} />;
      break;
  }

  const nextLabel: MessageKey =
    step === 'welcome' ? 'oobe.welcome.start'
      : step === 'recovery' ? 'oobe.recovery.written'
        : step === 'confirm' ? 'oobe.confirm.finish'
          : 'common.next';
  const showFooter = step !== 'creating' && step !== 'starting';
  const canGoBack = ['name', 'username', 'password', 'pin', 'confirm'].includes(step);

  return (
    <main className="oobe" aria-label={t('oobe.region')} onKeyDown={onKeyDown}>
      <form className={`panel oobe-panel oobe-${step}`} data-testid={`oobe-step-${step}`} data-step={step} onSubmit={next} noValidate>
        {hello?.icon && <img className="oobe-logo" src={hello.icon} alt="" draggable={false} />}
        {index >= 0 && (
          <div className="progress" role="progressbar" aria-valuemin={1} aria-valuemax={NUMBERED.length} aria-valuenow={index + 1}
            aria-label={t('oobe.progress', { n: index + 1, total: NUMBERED.length })} aria-valuetext={t('oobe.progress', { n: index + 1, total: NUMBERED.length })}>
            {NUMBERED.map((s, i) => <span key={s} className={i < index ? 'done' : i === index ? 'current' : ''} />)}
          </div>
        )}
        <h1 ref={headingRef} className="oobe-title" tabIndex={-1}>{t(title)}</h1>
        {body && <p className="oobe-body">{t(body)}</p>}
        <div className="oobe-content">
          {content}
          {errorEl}
        </div>
        {showFooter && (
          <div className="oobe-footer">
            {canGoBack ? (
              step === 'confirm' ? (
                <button type="button" className="button button-ghost" data-testid="oobe-back" onClick={back}>{t('oobe.confirm.showAgain')}</button>
              ) : (
                <button type="button" className="button button-ghost" data-testid="oobe-back" onClick={back}>{t('common.back')}</button>
              )
            ) : <span />}
            <div className="footer-right">
              {step === 'pin' && (
                <button type="button" className="button button-ghost" data-testid="oobe-skip-pin"
                  onClick={() => void create(false)}>
                  {t('oobe.pin.skip')}
                </button>
              )}
              <button type="submit" className="button button-primary" data-testid={step === 'confirm' ? 'oobe-finish' : 'oobe-next'}
                data-autofocus={step === 'welcome' || step === 'recovery' ? true : undefined}
                disabled={step === 'confirm' && !acknowledged}>
                {t(nextLabel)}
              </button>
            </div>
          </div>
        )}
      </form>
    </main>
  );
}
