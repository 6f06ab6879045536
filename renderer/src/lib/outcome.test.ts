import { describe, expect, it } from 'vitest';
import { describeFailure } from './outcome';

describe('describeFailure', () => {
  it('maps auth failures to "Login failed" and keeps throttling', () => {
    expect(describeFailure({ ok: false, code: 'auth_failed', message: '' }, 0)).toEqual({ key: 'status.failed' });
    expect(describeFailure({ ok: false, code: 'rate_limited', message: '', retryAfterMs: 30_000 }, 1000)).toEqual({
      key: 'status.failed', throttleUntil: 31_000,
    });
  });
  it('routes expired passwords to the change form', () => {
    expect(describeFailure({ ok: false, code: 'password_expired', message: '' }, 0).changePassword).toBe(true);
    expect(describeFailure({ ok: false, code: 'password_change_required', message: '' }, 0).changePassword).toBe(true);
  });
  it('has account messages', () => {
    expect(describeFailure({ ok: false, code: 'account_disabled', message: '' }, 0).key).toBe('status.accountDisabled');
    expect(describeFailure({ ok: false, code: 'account_expired', message: '' }, 0).key).toBe('status.accountExpired');
    expect(describeFailure({ ok: false, code: 'account_locked', message: '' }, 0).key).toBe('status.accountLocked');
  });
  it('caps absurd retry values', () => {
    expect(describeFailure({ ok: false, code: 'rate_limited', message: '', retryAfterMs: 1e15 }, 0).throttleUntil).toBe(24 * 3600_000);
  });
});
