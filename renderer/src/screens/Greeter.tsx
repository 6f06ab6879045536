import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { LoginOutcome, UserSummary } from '../../../protocol/src/common/ui-api';
import { useApp, useReportScreen } from '../context';
import { useI18n } from '../i18n';
import { Avatar } from '../components/Avatar';
import { SecretField } from '../components/SecretField';
import { Countdown, StatusRegion, type StatusValue } from '../components/Status';
import { ArrowRightIcon, BackIcon, KeyIcon, KeypadIcon, UserPlusIcon } from '../components/Icons';
import { StrengthMeter } from '../components/StrengthMeter';
import { describeFailure } from '../lib/outcome';
import { estimateStrength } from '../lib/strength';
import { tileSession, tileText } from '../lib/sessions';

type View =
  | { kind: 'list' }
  | { kind: 'auth'; user: UserSummary | null; mode: 'password' | 'pin' }
  | { kind: 'change'; username: string; fullName: string };

interface Props {
  users: UserSummary[];
  lockedUsername?: string | undefined;
  preselect?: string | undefined;
  notice?: string | undefined;
  starting: boolean;
}

const unavailable: LoginOutcome = { ok: false, code: 'unavailable', message: 'transport error' };

export function Greeter({ users, lockedUsername, preselect, notice, starting }: Props) {
  const { t } = useI18n();
  const { api, hello } = useApp();
  const [view, setView] = useState<View>(() => {
    // With a single account there is nothing to choose: go straight to its password field.
    const u = preselect ? users.find((x) => x.username === preselect) : users.length === 1 && !users[0]!.locked ? users[0] : undefined;
    return u ? { kind: 'auth', user: u, mode: 'password' } : { kind: 'list' };
  });
  const [username, setUsername] = useState('');
  const [secret, setSecret] = useState('');
  const [oldPw, setOldPw] = useState('');
  const [newPw, setNewPw] = useState('');
  const [newPw2, setNewPw2] = useState('');
  const [status, setStatus] = useState<StatusValue | null>(notice ? { text: notice, kind: 'info' } : null);
  const [busy, setBusy] = useState(false);
  const [throttleUntil, setThrottleUntil] = useState(0);
  const [formError, setFormError] = useState<string>();
  const fieldRef = useRef<HTMLInputElement>(null);
  const userFieldRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const statusId = useId();
  const strengthId = useId();

  const step = view.kind === 'list' ? 'user_list' : view.kind === 'change' ? 'change_password' : view.mode;
  const reportUser = view.kind === 'auth' ? view.user?.username : view.kind === 'change' ? view.username : undefined;
  useReportScreen('greeter', { step, userCount: users.length, ...(reportUser ? { username: reportUser } : {}) });

  // Focus management: the field being typed into always has focus.
  useEffect(() => {
    if (view.kind === 'list') listRef.current?.querySelector<HTMLElement>('button')?.focus();
    else if (view.kind === 'auth' && view.user === null && username === '') userFieldRef.current?.focus();
    else fieldRef.current?.focus();
  }, [view]);

  // If a listed user disappears while selected, go back to the list.
  useEffect(() => {
    if (view.kind === 'auth' && view.user && !users.some((u) => u.username === view.user!.username)) setView({ kind: 'list' });
  }, [users, view]);

  const resetAuth = (): void => {
    setSecret('');
    setOldPw('');
    setNewPw('');
    setNewPw2('');
    setFormError(undefined);
    setStatus(null);
  };

  const choose = (user: UserSummary | null): void => {
    resetAuth();
    setUsername('');
    setView({ kind: 'auth', user, mode: 'password' });
  };

  const back = (): void => {
    if (busy || starting) return;
    resetAuth();
    if (view.kind === 'change') setView({ kind: 'list' });
    else if (view.kind === 'auth' && view.user === null && username !== '' && secret === '' ) setUsername('');
    else setView({ kind: 'list' });
  };

  const handleOutcome = (outcome: LoginOutcome, who: { username: string; fullName: string }): void => {
    if (outcome.ok) {
      setStatus({ text: t('status.starting'), kind: 'busy' });
      return;
    }
    const v = describeFailure(outcome, Date.now());
    if (v.throttleUntil) setThrottleUntil(v.throttleUntil);
    if (v.changePassword) {
      setView({ kind: 'change', username: who.username, fullName: who.fullName });
      setStatus({ text: t(v.key), kind: 'info' });
    } else {
      setStatus({ text: t(v.key), kind: 'error' });
    }
    setBusy(false);
    window.setTimeout(() => fieldRef.current?.focus(), 0);
  };

  const throttled = throttleUntil > Date.now();
  // Signing in as a user whose session is locked unlocks that session (greeterd does the unlock).
  const chosen = view.kind === 'auth' && view.user ? (users.find((x) => x.username === view.user!.username) ?? view.user) : null;
  const resuming = chosen !== null && tileSession(chosen, lockedUsername) === 'locked';

  const submitAuth = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!api || view.kind !== 'auth' || busy || starting || throttled) return;
    const user = view.user?.username ?? username.trim();
    if (user === '') {
      userFieldRef.current?.focus();
      return;
    }
    if (secret === '') {
      fieldRef.current?.focus();
      return;
    }
    const s = secret;
    setSecret(''); // clear our copy right away
    setBusy(true);
    setStatus({ text: t('status.authenticating'), kind: 'busy' });
    let outcome: LoginOutcome;
    try {
      outcome = view.mode === 'pin' ? await api.loginPin(user, s) : await api.login(user, s);
    } catch {
      outcome = unavailable;
    }
    handleOutcome(outcome, { username: user, fullName: view.user?.fullName ?? user });
  };

  const submitChange = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!api || view.kind !== 'change' || busy || starting || throttled) return;
    if (oldPw === '' || newPw === '') return;
    if (newPw !== newPw2) return setFormError(t('greeter.mismatch'));
    if (newPw === oldPw) return setFormError(t('greeter.sameAsOld'));
    const [o, n] = [oldPw, newPw];
    setOldPw('');
    setNewPw('');
    setNewPw2('');
    setFormError(undefined);
    setBusy(true);
    setStatus({ text: t('status.authenticating'), kind: 'busy' });
    let outcome: LoginOutcome;
    try {
      outcome = await api.changeExpiredPassword(view.username, o, n);
    } catch {
      outcome = unavailable;
    }
    if (!outcome.ok && outcome.code === 'weak_password') {
      setBusy(false);
      setStatus({ text: t('oobe.password.tooWeak'), kind: 'error' });
      return;
    }
    handleOutcome(outcome, view);
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Escape' && view.kind !== 'list') {
      e.preventDefault();
      back();
    }
  };

  const onListKey = (e: KeyboardEvent<HTMLUListElement>): void => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
    const items = [...(listRef.current?.querySelectorAll<HTMLElement>('button') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? items.length - 1
      : e.key === 'ArrowDown' ? Math.min(items.length - 1, i + 1) : Math.max(0, i - 1);
    items[next]?.focus();
    e.preventDefault();
  };

  const clearThrottle = useCallback(() => setThrottleUntil(0), []);
  const countdown = throttleUntil > 0 ? <Countdown until={throttleUntil} onDone={clearThrottle} /> : null;
  const session = (
    <p className="session-name" data-testid="session-name">
      <span className="muted">{t('greeter.session')}:</span> {hello?.sessionName ?? 'KDE on Wayland'}
    </p>
  );

  return (
    <main className="greeter" data-testid="greeter" aria-label={t('greeter.region')} onKeyDown={onKeyDown}>
      {view.kind === 'list' && (
        <section className="panel user-panel" aria-labelledby="users-heading">
          <h1 id="users-heading" className="visually-hidden">{t('greeter.users')}</h1>
          {users.length === 0 && <p className="muted center">{t('greeter.noUsers')}</p>}
          <ul className="user-list" ref={listRef} onKeyDown={onListKey}>
            {users.map((u) => {
              const session = tileSession(u, lockedUsername);
              const text = tileText(u, session);
              const name = u.fullName || u.username;
              return (
                <li key={u.username}>
                  <button type="button" className="user-tile" data-testid={`user-tile-${u.username}`} data-username={u.username}
                    data-session={session ?? undefined}
                    aria-label={text.label.length ? [name, ...text.label.map((k) => t(k))].join(', ') : undefined}
                    onClick={() => choose(u)}>
                    <Avatar fullName={u.fullName} username={u.username} avatar={u.avatar} />
                    <span className="user-tile-text">
                      <span className="user-name">{name}</span>
                      {text.badges.map((b) => (
                        <span key={b.key} className={b.warn ? 'badge badge-warn' : 'badge'}
                          data-testid={b.warn ? undefined : `session-badge-${u.username}`}>{t(b.key)}</span>
                      ))}
                    </span>
                  </button>
                </li>
              );
            })}
            <li>
              <button type="button" className="user-tile user-tile-other" data-testid="user-tile-other" onClick={() => choose(null)}>
                <span className="avatar avatar-md avatar-other" aria-hidden="true"><UserPlusIcon /></span>
                <span className="user-tile-text"><span className="user-name">{t('greeter.otherUser')}</span></span>
              </button>
            </li>
          </ul>
          <StatusRegion status={status} />
        </section>
      )}

      {view.kind === 'auth' && (
        <section className="panel auth-panel" aria-labelledby="auth-heading">
          <button type="button" className="icon-button back-button" aria-label={t('common.back')} title={t('common.back')}
            data-testid="back-button" onClick={back} disabled={busy || starting}>
            <BackIcon />
          </button>
          {view.user ? (
            <>
              <Avatar fullName={view.user.fullName} username={view.user.username} avatar={view.user.avatar} size="lg" />
              <h1 id="auth-heading" className="auth-name" data-testid="selected-user">{view.user.fullName || view.user.username}</h1>
              {resuming && <p className="muted center" data-testid="resume-hint">{t('greeter.resumeHint')}</p>}
            </>
          ) : (
            <>
              <span className="avatar avatar-lg avatar-other" aria-hidden="true"><UserPlusIcon /></span>
              <h1 id="auth-heading" className="auth-name">{t('greeter.otherUser')}</h1>
            </>
          )}
          <form className="auth-form" onSubmit={(e) => void submitAuth(e)} noValidate>
            {view.user === null && (
              <div className="field">
                <label htmlFor="other-username" className="visually-hidden">{t('greeter.username')}</label>
                <div className="field-row">
                  <input id="other-username" ref={userFieldRef} className="input" type="text" autoComplete="off"
                    autoCapitalize="off" spellCheck={false} maxLength={64} placeholder={t('greeter.username')}
                    value={username} data-testid="username-field" disabled={busy || starting}
                    onChange={(e) => setUsername(e.target.value)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' && secret === '') {
                        e.preventDefault();
                        if (username.trim() !== '') fieldRef.current?.focus();
                      }
                    }} />
                </div>
              </div>
            )}
            <SecretField
              key={view.mode}
              label={view.mode === 'pin' ? t('greeter.pin') : t('greeter.password')}
              hideLabel
              kind={view.mode}
              value={secret}
              onChange={setSecret}
              testId={view.mode === 'pin' ? 'pin-field' : 'password-field'}
              inputRef={fieldRef}
              describedBy={statusId}
              disabled={starting}
              invalid={status?.kind === 'error'}
              trailing={
                <button type="submit" className="icon-button submit-button" aria-label={t(resuming ? 'lock.unlock' : 'greeter.signIn')}
                  title={t(resuming ? 'lock.unlock' : 'greeter.signIn')}
                  data-testid="login-submit" disabled={busy || starting || throttled}>
                  {busy ? <span className="spinner spinner-sm" aria-hidden="true" /> : <ArrowRightIcon />}
                </button>
              }
            />
            {view.user?.hasPin && (
              <button type="button" className="link-button" data-testid="auth-mode-toggle" disabled={busy || starting}
                onClick={() => {
                  setSecret('');
                  setStatus(null);
                  setView({ ...view, mode: view.mode === 'pin' ? 'password' : 'pin' });
                }}>
                {view.mode === 'pin' ? <KeyIcon /> : <KeypadIcon />}
                {view.mode === 'pin' ? t('greeter.usePassword') : t('greeter.usePin')}
              </button>
            )}
          </form>
          <StatusRegion status={status} id={statusId} />
          {countdown}
          {session}
        </section>
      )}

      {view.kind === 'change' && (
        <section className="panel auth-panel change-panel" aria-labelledby="change-heading" data-testid="change-password-form">
          <button type="button" className="icon-button back-button" aria-label={t('common.back')} title={t('common.back')}
            data-testid="back-button" onClick={back} disabled={busy || starting}>
            <BackIcon />
          </button>
          <h1 id="change-heading" className="auth-name">{t('greeter.changeTitle')}</h1>
          <p className="muted center">{t('greeter.changeIntro', { name: view.fullName || view.username })}</p>
          <form className="auth-form stack" onSubmit={(e) => void submitChange(e)} noValidate>
            <SecretField label={t('greeter.current')} value={oldPw} onChange={setOldPw} testId="change-old" inputRef={fieldRef}
              disabled={starting} />
            <SecretField label={t('greeter.newPassword')} value={newPw} onChange={setNewPw} testId="change-new" describedBy={strengthId}
              disabled={starting} />
            <StrengthMeter id={strengthId} estimate={newPw ? estimateStrength(newPw, [view.username]) : null} />
            <SecretField label={t('greeter.confirmPassword')} value={newPw2} onChange={setNewPw2} testId="change-confirm"
              invalid={formError !== undefined} disabled={starting} />
            {formError && <p className="form-error" role="alert" data-testid="change-error">{formError}</p>}
            <button type="submit" className="button button-primary wide" data-testid="change-submit" disabled={busy || starting || throttled}>
              {t('greeter.change')}
            </button>
          </form>
          <StatusRegion status={status} />
          {countdown}
          {session}
        </section>
      )}
    </main>
  );
}
