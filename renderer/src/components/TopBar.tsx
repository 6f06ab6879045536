import { useEffect, useRef, useState } from 'react';
import { useApp } from '../context';
import { LOCALES, LOCALE_IDS, useI18n, type Locale } from '../i18n';
import { Clock } from './Clock';
import { ConfirmDialog } from './ConfirmDialog';
import { AccessibilityIcon, GlobeIcon, PowerIcon, RestartIcon } from './Icons';

import type { PowerKind } from '../lib/power';

export function TopBar({ showPower = true, onPowerStarted }: { showPower?: boolean; onPowerStarted?: (message: string, kind: PowerKind) => void }) {
  const { t } = useI18n();
  const { api, hello, prefs, setPrefs } = useApp();
  const [menuOpen, setMenuOpen] = useState(false);
  const [confirm, setConfirm] = useState<PowerKind | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const menuRef = useRef<HTMLDivElement>(null);
  const menuButtonRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!menuOpen) return;
    const onDown = (e: PointerEvent): void => {
      if (!menuRef.current?.contains(e.target as Node)) setMenuOpen(false);
    };
    window.addEventListener('pointerdown', onDown);
    menuRef.current?.querySelector<HTMLElement>('input')?.focus();
    return () => window.removeEventListener('pointerdown', onDown);
  }, [menuOpen]);

  const runPower = async (kind: PowerKind): Promise<void> => {
    if (!api) return;
    setBusy(true);
    setError(undefined);
    try {
      const r = kind === 'shutdown' ? await api.requestShutdown() : await api.requestReboot();
      if (r.ok) {
        setConfirm(null);
        onPowerStarted?.(r.message, kind);
      } else setError(t('power.failed', { message: r.message }));
    } catch {
      setError(t('status.unavailable'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <header className="topbar">
      <div className="topbar-left">
        {hello?.hostname && <span className="hostname" data-testid="hostname">{hello.hostname}</span>}
      </div>
      <div className="topbar-center">
        <Clock variant="bar" />
      </div>
      <div className="topbar-right">
        <div className="menu-wrap" ref={menuRef}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && menuOpen) {
              e.stopPropagation();
              setMenuOpen(false);
              menuButtonRef.current?.focus();
            }
          }}>
          <button ref={menuButtonRef} type="button" className="icon-button bar-button" aria-expanded={menuOpen}
            aria-controls="a11y-menu" aria-label={t('top.accessibility')} title={t('top.accessibility')}
            data-testid="a11y-menu-button" onClick={() => setMenuOpen((o) => !o)}>
            <AccessibilityIcon />
          </button>
          {menuOpen && (
            <div id="a11y-menu" className="menu" role="group" aria-label={t('top.accessibility')}>
              <label className="switch-row">
                <input type="checkbox" role="switch" checked={prefs.largeText} data-testid="toggle-large-text"
                  onChange={(e) => setPrefs({ largeText: e.target.checked })} />
                <span className="switch" aria-hidden="true" />
                {t('top.largeText')}
              </label>
              <label className="switch-row">
                <input type="checkbox" role="switch" checked={prefs.highContrast} data-testid="toggle-high-contrast"
                  onChange={(e) => setPrefs({ highContrast: e.target.checked })} />
                <span className="switch" aria-hidden="true" />
                {t('top.highContrast')}
              </label>
            </div>
          )}
        </div>
        <label className="locale-picker" title={t('top.language')}>
          <GlobeIcon />
          <span className="visually-hidden">{t('top.language')}</span>
          <select value={prefs.locale} data-testid="locale-select" onChange={(e) => setPrefs({ locale: e.target.value as Locale })}>
            {LOCALE_IDS.map((id) => (
              <option key={id} value={id} lang={id}>{LOCALES[id].name}</option>
            ))}
          </select>
        </label>
        {showPower && hello?.canReboot !== false && (
          <button type="button" className="icon-button bar-button" aria-label={t('top.reboot')} title={t('top.reboot')}
            data-testid="reboot-button" onClick={() => { setError(undefined); setConfirm('reboot'); }}>
            <RestartIcon />
          </button>
        )}
        {showPower && hello?.canShutdown !== false && (
          <button type="button" className="icon-button bar-button" aria-label={t('top.shutdown')} title={t('top.shutdown')}
            data-testid="shutdown-button" onClick={() => { setError(undefined); setConfirm('shutdown'); }}>
            <PowerIcon />
          </button>
        )}
      </div>
      {confirm && (
        <ConfirmDialog
          title={t(confirm === 'shutdown' ? 'power.shutdown.title' : 'power.reboot.title')}
          body={t(confirm === 'shutdown' ? 'power.shutdown.body' : 'power.reboot.body')}
          confirmLabel={t(confirm === 'shutdown' ? 'power.shutdown.confirm' : 'power.reboot.confirm')}
          cancelLabel={t('common.cancel')}
          busy={busy}
          error={error}
          onCancel={() => setConfirm(null)}
          onConfirm={() => void runPower(confirm)}
        />
      )}
    </header>
  );
}
