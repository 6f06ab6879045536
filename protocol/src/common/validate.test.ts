import { describe, expect, it } from 'vitest';
import { validateRequest, validateReply } from './validate.js';

describe('validation', () => {
  it('accepts the exact Red Bear v1 shapes', () => {
    expect(validateRequest('greeter', 1, { type: 'hello', version: 1 }).ok).toBe(true);
    expect(validateRequest('greeter', 1, { type: 'submit_login', username: 'alice', password: 'secret' }).ok).toBe(true);
    expect(validateRequest('auth', 1, { type: 'authenticate', request_id: 17, username: 'alice', password: 'secret', vt: 3 }).ok).toBe(true);
    expect(validateRequest('auth', 1, { type: 'start_session', request_id: 17, username: 'alice', session: 'kde-wayland', vt: 3 }).ok).toBe(true);
    expect(
      validateReply('greeter', 1, {
        type: 'hello_ok',
        background: '/usr/share/redbear/greeter/background.png',
        icon: '/usr/share/redbear/greeter/icon.png',
        session_name: 'KDE on Wayland',
        state: 'greeter_ready',
        message: '',
      }).ok,
    ).toBe(true);
  });

  it('names the field that is wrong without echoing its value', () => {
    const r = validateRequest('greeter', 1, { type: 'submit_login', username: 'alice', password: 42 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('bad_request');
      expect(r.error.message).toContain('/password');
    }
    const m = validateRequest('greeter', 1, { type: 'submit_login', password: 'topsecret' });
    expect(!m.ok && m.error.message).not.toContain('topsecret');
  });

  it('rejects unknown types and unknown v2 fields', () => {
    const u = validateRequest('greeter', 2, { type: 'launch_missiles', id: 1 });
    expect(!u.ok && u.error.code).toBe('unknown_type');
    const x = validateRequest('greeter', 2, { type: 'ping', id: 1, extra: true });
    expect(!x.ok && x.error.code).toBe('bad_request');
    const v = validateRequest('keystore', 1, { type: 'ping', id: 1 });
    expect(!v.ok && v.error.code).toBe('unsupported_version');
  });
});
