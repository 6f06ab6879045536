import type { UserSessionState, UserSummary } from '../../../protocol/src/common/ui-api';
import type { MessageKey } from '../i18n/en';

/**
 * A user tile's session mark. greeterd marks each listed user with their open session, straight
 * from sessiond's session list (`session`: `locked` — picking the user unlocks that session
 * instead of starting a new one — or `active`). The lock screen's own user (`lockedUsername`,
 * after "Switch user") counts as locked too, for a shell that does not pass `session` on.
 */
export function tileSession(user: Pick<UserSummary, 'username' | 'session'>, lockedUsername?: string): UserSessionState | null {
  if (user.session === 'locked' || user.session === 'active') return user.session;
  return lockedUsername !== undefined && lockedUsername === user.username ? 'locked' : null;
}

export interface TileText {
  /** Visible badges, in order (account state first). */
  badges: Array<{ key: MessageKey; warn: boolean }>;
  /** Parts of the tile's accessible name after the user's name (the badges, spelled out). */
  label: MessageKey[];
}

/** What a user tile says about the account and the user's running session. */
export function tileText(user: Pick<UserSummary, 'locked'>, session: UserSessionState | null): TileText {
  const out: TileText = { badges: [], label: [] };
  if (user.locked) {
    out.badges.push({ key: 'greeter.accountLockedBadge', warn: true });
    out.label.push('greeter.accountLockedBadge');
  }
  if (session === 'locked') {
    out.badges.push({ key: 'greeter.sessionLockedBadge', warn: false });
    out.label.push('greeter.sessionLockedLabel');
  } else if (session === 'active') {
    out.badges.push({ key: 'greeter.sessionRunningBadge', warn: false });
    out.label.push('greeter.sessionRunningBadge');
  }
  return out;
}
