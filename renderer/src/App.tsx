import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { GreeterApi, GreeterEvent, GreeterState, HelloInfo, LockedSession, UserSummary } from '../../protocol/src/common/ui-api';
import { resolveApi, waitForNativeApi } from './api';
import { AppContext, type AppContextValue, type Prefs } from './context';
import { I18nContext, LOCALE_IDS, makeI18n, pickLocale, type Locale } from './i18n';
import { TopBar } from './components/TopBar';
import { Greeter } from './screens/Greeter';
import { LockScreen } from './screens/Lock';
import { Oobe } from './screens/Oobe';
import { FatalScreen, type FatalReason } from './screens/Fatal';
import { CloseIcon } from './components/Icons';
import { powerDidNotHappen, powerNoEffectKey, type PowerKind } from './lib/power';

/** How long a lost connection is tolerated before the fatal screen. */
const DISCONNECT_GRACE_MS = 3000;
const PREFS_KEY = 'redbear-greeter-prefs';

function loadPrefs(): Partial<Prefs> {
  try {
    const raw = localStorage.getItem(PREFS_KEY);
    const v = raw ? (JSON.parse(raw) as Partial<Prefs>) : {};
    const out: Partial<Prefs> = {};
    if (typeof v.highContrast === 'boolean') out.highContrast = v.highContrast;
    if (typeof v.largeText === 'boolean') out.largeText = v.largeText;
    if (typeof v.locale === 'string' && (LOCALE_IDS as string[]).includes(v.locale)) out.locale = v.locale;
    return out;
  } catch {
    return {};
  }
}

export function App() {
  const search = useMemo(() => new URLSearchParams(location.search), []);
  const stored = useMemo(loadPrefs, []);
  const [api, setApi] = useState<GreeterApi | null | undefined>(undefined);
  const [hello, setHello] = useState<HelloInfo | null>(null);
  const [helloFailed, setHelloFailed] = useState(false);
  const [state, setState] = useState<GreeterState>('starting');
  const [stateMessage, setStateMessage] = useState('');
  const [firstBoot, setFirstBoot] = useState(false);
  const [users, setUsers] = useState<UserSummary[]>([]);
  const [lock, setLock] = useState<LockedSession | null>(null);
  const [switchedAway, setSwitchedAway] = useState(false);
  const [disconnectedSince, setDisconnectedSince] = useState<number | null>(null);
  const [disconnectedLong, setDisconnectedLong] = useState(false);
  const [preselect, setPreselect] = useState<{ username: string; notice: string } | null>(null);
  const [greeterEpoch, setGreeterEpoch] = useState(0);
  const [powerMessage, setPowerMessage] = useState<string | null>(null);
  /** The power action greeterd accepted (until the next state event that leaves power_action). */
  const powerAccepted = useRef<PowerKind | null>(null);
  /** "The computer did not shut down": greeterd came back from power_action after an accepted request. */
  const [powerNotice, setPowerNotice] = useState<{ kind: PowerKind | null } | null>(null);
  const [prefs, setPrefsState] = useState<Prefs>({
    locale: stored.locale ?? pickLocale([search.get('lang'), navigator.language]),
    highContrast: stored.highContrast ?? search.get('hc') === '1',
    largeText: stored.largeText ?? search.get('large') === '1',
  });
  const localeChosen = useRef(stored.locale !== undefined || search.has('lang'));

  const setPrefs = useCallback((update: Partial<Prefs>) => {
    if (update.locale) localeChosen.current = true;
    setPrefsState((p) => {
      const n = { ...p, ...update };
      try {
        localStorage.setItem(PREFS_KEY, JSON.stringify(n));
      } catch {
        /* storage unavailable: prefs last for this page only */
      }
      return n;
    });
  }, []);

  // Resolve the API (native, fake in dev, or none → fatal + keep looking).
  useEffect(() => {
    let stop: (() => void) | undefined;
    void resolveApi().then((a) => {
      setApi(a);
      if (!a) stop = waitForNativeApi((found) => setApi(found));
    });
    return () => stop?.();
  }, []);

  const refreshUsers = useCallback(async () => {
    if (!api) return;
    try {
      setUsers(await api.listUsers());
    } catch {
      /* connection handling will notice */
    }
  }, [api]);

  const connect = useCallback(async () => {
    if (!api) return;
    try {
      const h = await api.hello();
      setHello(h);
      setHelloFailed(false);
      setState(h.state);
      setStateMessage(h.message);
      setFirstBoot(h.firstBoot || h.state === 'first_boot');
      setLock(h.lock ?? null);
      if (h.state !== 'power_action') {
        powerAccepted.current = null;
        setPowerMessage(null);
      }
      setDisconnectedSince(null);
      setDisconnectedLong(false);
      if (!localeChosen.current && h.locale) setPrefsState((p) => ({ ...p, locale: pickLocale([h.locale, navigator.language]) }));
      if (!h.firstBoot) setUsers(await api.listUsers());
    } catch {
      setHelloFailed(true);
    }
  }, [api]);

  useEffect(() => {
    if (!api) return;
    const off = api.onEvent((e: GreeterEvent) => {
      switch (e.kind) {
        case 'state':
          setState(e.state);
          setStateMessage(e.message);
          if (e.state === 'first_boot') setFirstBoot(true);
          if (e.state !== 'power_action') {
            // Back from power_action: either refused (the request said so) or it did not take effect.
            if (powerDidNotHappen(e, powerAccepted.current !== null)) setPowerNotice({ kind: powerAccepted.current });
            powerAccepted.current = null;
            setPowerMessage(null);
          }
          if (e.state === 'returning_to_greeter' || e.state === 'greeter_ready') void refreshUsers();
          if (e.state === 'returning_to_greeter') setGreeterEpoch((n) => n + 1);
          if (e.state === 'fatal_error') setHelloFailed(false);
          break;
        case 'lock':
          setLock(e.session);
          setSwitchedAway(false);
          void refreshUsers();
          break;
        case 'unlock':
          // A locked session was unlocked or ended: its user's "Session locked" mark changes too.
          setLock((l) => (l && l.id === e.sessionId ? null : l));
          void refreshUsers();
          break;
        case 'users_changed':
          void refreshUsers();
          break;
        case 'connection':
          if (e.connected) {
            setDisconnectedSince(null);
            setDisconnectedLong(false);
            void connect();
          } else setDisconnectedSince((s) => s ?? Date.now());
          break;
      }
    });
    void connect();
    return off;
  }, [api, connect, refreshUsers]);

  useEffect(() => {
    if (disconnectedSince === null) return;
    const timer = window.setTimeout(() => setDisconnectedLong(true), Math.max(0, disconnectedSince + DISCONNECT_GRACE_MS - Date.now()));
    return () => window.clearTimeout(timer);
  }, [disconnectedSince]);

  // Activity → greeterd (throttled to one call per 5 s).
  useEffect(() => {
    if (!api) return;
    let last = 0;
    const onActivity = (): void => {
      const now = Date.now();
      if (now - last < 5000) return;
      last = now;
      api.reportActivity().catch(() => undefined);
    };
    const events = ['keydown', 'pointerdown', 'pointermove', 'wheel'] as const;
    for (const ev of events) window.addEventListener(ev, onActivity, { passive: true });
    return () => {
      for (const ev of events) window.removeEventListener(ev, onActivity);
    };
  }, [api]);

  // Document-level preferences.
  useEffect(() => {
    const root = document.documentElement;
    root.lang = prefs.locale;
    root.classList.toggle('hc', prefs.highContrast);
    root.classList.toggle('large-text', prefs.largeText);
  }, [prefs]);

  const i18n = useMemo(() => makeI18n(prefs.locale as Locale), [prefs.locale]);
  const ctx: AppContextValue = useMemo(() => ({ api: api ?? null, hello, prefs, setPrefs }), [api, hello, prefs, setPrefs]);

  let fatal: FatalReason | null = null;
  if (api === null) fatal = 'no_api';
  else if (state === 'fatal_error') fatal = 'fatal_error';
  else if (helloFailed || disconnectedLong) fatal = 'disconnected';

  let screen: 'splash' | 'fatal' | 'power' | 'lock' | 'oobe' | 'greeter';
  if (fatal) screen = 'fatal';
  else if (!hello || api === undefined) screen = 'splash';
  else if (state === 'power_action' || powerMessage !== null) screen = 'power';
  else if (lock && !switchedAway) screen = 'lock';
  else if (firstBoot) screen = 'oobe';
  else screen = 'greeter';

  const starting = state === 'launching_session' || state === 'session_running' || state === 'authenticating';

  return (
    <I18nContext.Provider value={i18n}>
      <AppContext.Provider value={ctx}>
        <div className={`app screen-${screen}`} data-state={state}>
          {hello?.background && !prefs.highContrast && (
            <img className="backdrop" src={hello.background} alt="" draggable={false} />
          )}
          <div className="backdrop-shade" />
          {screen !== 'fatal' && screen !== 'splash' && (
            <TopBar showPower={screen !== 'power'} onPowerStarted={(m, kind) => {
              powerAccepted.current = kind;
              setPowerNotice(null);
              setPowerMessage(m);
            }} />
          )}
          {powerNotice && screen !== 'power' && screen !== 'fatal' && screen !== 'splash' && (
            <div className="notice" role="alert" data-testid="power-notice">
              <span>{i18n.t(powerNoEffectKey(powerNotice.kind))}</span>
              <button type="button" className="icon-button notice-close" aria-label={i18n.t('common.dismiss')} title={i18n.t('common.dismiss')}
                data-testid="power-notice-dismiss" onClick={() => setPowerNotice(null)}>
                <CloseIcon />
              </button>
            </div>
          )}
          {screen === 'splash' && <Splash text={i18n.t('splash.starting')} />}
          {screen === 'power' && <Splash text={stateMessage || powerMessage || i18n.t('splash.power')} />}
          {screen === 'fatal' && (
            <FatalScreen reason={fatal!} message={stateMessage} api={api ?? null}
              onRetry={fatal === 'no_api' ? () => window.greeter && setApi(window.greeter) : () => void connect()} />
          )}
          {screen === 'lock' && lock && <LockScreen session={lock} onSwitchUser={() => setSwitchedAway(true)} />}
          {screen === 'oobe' && (
            <Oobe onFallbackToGreeter={(username) => {
              setFirstBoot(false);
              setPreselect({ username, notice: i18n.t('oobe.tokenExpired') });
              void refreshUsers();
            }} />
          )}
          {screen === 'greeter' && (
            <Greeter key={`${greeterEpoch}-${preselect?.username ?? ''}-${users.length > 0 ? 'u' : 'n'}`} users={users}
              lockedUsername={lock?.username} preselect={preselect?.username} notice={preselect?.notice} starting={starting} />
          )}
          {(screen === 'greeter' || screen === 'oobe' || screen === 'lock') && hello?.icon && (
            <footer className="brand">
              <img className="brand-icon" src={hello.icon} alt="" draggable={false} />
              <span className="brand-name">Red Bear OS</span>
            </footer>
          )}
        </div>
      </AppContext.Provider>
    </I18nContext.Provider>
  );
}

function Splash({ text }: { text: string }) {
  return (
    <main className="splash" data-testid="splash" aria-busy="true">
      <span className="spinner" aria-hidden="true" />
      <p role="status">{text}</p>
    </main>
  );
}
