import { describe, expect, it } from 'vitest';
import { tileSession, tileText } from './sessions';
import { translate } from '../i18n';

const alice = { username: 'alice', locked: false };

describe('user tile session marks', () => {
  it("uses greeterd's session mark, else the lock screen's user", () => {
    expect(tileSession({ ...alice, session: 'locked' })).toBe('locked');
    expect(tileSession({ ...alice, session: 'active' }, 'alice')).toBe('active');
    expect(tileSession(alice)).toBeNull();
    expect(tileSession(alice, 'alice')).toBe('locked');
    expect(tileSession(alice, 'bob')).toBeNull();
  });

  it('badges and the accessible name say the session is locked and that signing in unlocks it', () => {
    const t = tileText(alice, 'locked');
    expect(t.badges).toEqual([{ key: 'greeter.sessionLockedBadge', warn: false }]);
    expect(translate('en', t.badges[0]!.key)).toBe('Session locked');
    expect(translate('de', t.badges[0]!.key)).toBe('Sitzung gesperrt');
    expect(t.label.map((k) => translate('en', k))).toEqual(['Session locked, signing in unlocks it']);
    // The accessible name contains the visible badge text (WCAG 2.5.3, label in name).
    for (const loc of ['en', 'de'] as const) {
      expect(translate(loc, t.label[0]!).toLowerCase()).toContain(translate(loc, 'greeter.sessionLockedBadge').toLowerCase());
    }
  });

  it('a running session and a locked account', () => {
    expect(tileText(alice, 'active')).toEqual({ badges: [{ key: 'greeter.sessionRunningBadge', warn: false }], label: ['greeter.sessionRunningBadge'] });
    expect(translate('en', 'greeter.sessionRunningBadge')).toBe('Session running');
    expect(translate('de', 'greeter.sessionRunningBadge')).toBe('Sitzung läuft');
    expect(tileText({ locked: true }, 'locked').badges.map((b) => b.key)).toEqual(['greeter.accountLockedBadge', 'greeter.sessionLockedBadge']);
    expect(tileText(alice, null)).toEqual({ badges: [], label: [] });
  });
});
