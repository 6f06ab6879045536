import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { SESSION_STATES, type ProtocolError, type SessionState } from '../../../protocol/src/common/index.js';
import { REPO } from '../../../test/harness/index.js';
import { SESSIOND_DEFAULTS } from '../../src/sessiond/config.js';
import { nextState, Seat, toRecord, transition, TRANSITIONS, type SessionAction, type SessionData } from '../../src/sessiond/session.js';

const ACTIONS: SessionAction[] = ['started', 'lock', 'unlock', 'end', 'fail', 'finish'];

function session(over: Partial<SessionData> = {}): SessionData {
  return {
    sid: 's1', uid: 1000, gid: 1000, username: 'alice', vt: 4, seat: 'seat0', state: 'opening', leader_pid: null, leader_start: null,
    home_uri: 'state:/secure/home/1000/', home_mount: null, home_persistent: false, home_open: false, created_at_ms: 1, updated_at_ms: 1,
    locked_at_ms: null, keystore_token: 'secret-token', store_id: null, validation: false, ...over,
  };
}

describe('session state machine', () => {
  const legal: Array<[SessionState, SessionAction, SessionState]> = [
    ['opening', 'started', 'active'],
    ['opening', 'fail', 'closing'],
    ['opening', 'end', 'closing'],
    ['active', 'lock', 'locked'],
    ['active', 'end', 'closing'],
    ['locked', 'unlock', 'active'],
    ['locked', 'end', 'closing'],
    ['closing', 'finish', 'closed'],
  ];
  it.each(legal)('%s --%s--> %s', (from, action, to) => {
    expect(nextState(from, action)).toBe(to);
  });
  it('every other (state, action) pair is invalid_state', () => {
    let illegal = 0;
    for (const from of SESSION_STATES) {
      for (const action of ACTIONS) {
        if (legal.some(([f, a]) => f === from && a === action)) continue;
        illegal++;
        let err: unknown;
        try {
          nextState(from, action);
        } catch (e) {
          err = e;
        }
        expect((err as Error).name).toBe('ProtocolError');
        expect((err as ProtocolError).code).toBe('invalid_state');
      }
    }
    expect(illegal).toBe(SESSION_STATES.length * ACTIONS.length - legal.length);
    expect(Object.keys(TRANSITIONS.closed)).toEqual([]);
  });
  it('locked never becomes active except through unlock', () => {
    for (const a of ACTIONS) if (a !== 'unlock') expect(TRANSITIONS.locked[a]).not.toBe('active');
  });
  it('transition stamps times; locked_at is set on lock and cleared on unlock', () => {
    const s = session();
    transition(s, 'started', 10);
    transition(s, 'lock', 20);
    expect(s).toMatchObject({ state: 'locked', updated_at_ms: 20, locked_at_ms: 20 });
    transition(s, 'unlock', 30);
    expect(s).toMatchObject({ state: 'active', locked_at_ms: null });
  });
  it('the wire record never carries the keystore token', () => {
    const r = toRecord(session());
    expect(JSON.stringify(r)).not.toContain('secret-token');
    expect(Object.keys(r).sort()).toEqual(['created_at_ms', 'home_mount', 'home_persistent', 'home_uri', 'leader_pid', 'locked_at_ms', 'seat', 'sid', 'state', 'uid', 'updated_at_ms', 'username', 'vt']);
  });
});

describe('seat invariants', () => {
  it('one session per user and per VT; one active session', () => {
    const seat = new Seat('seat0');
    seat.add(session({ sid: 'a', state: 'active' }));
    expect(() => seat.add(session({ sid: 'b', vt: 5 }))).toThrow(/already has a session/);
    expect(() => seat.add(session({ sid: 'c', uid: 1001, username: 'bob' }))).toThrow(/VT 4/);
    seat.add(session({ sid: 'd', uid: 1001, username: 'bob', vt: 5, state: 'active' }));
    expect(() => seat.check()).toThrow(/2 active/);
    seat.get('a')!.state = 'locked';
    expect(() => seat.check()).not.toThrow();
    expect(seat.active()?.sid).toBe('d');
    expect(() => seat.require('zz')).toThrow(/no such session/);
  });
});

describe('configuration', () => {
  it('config/defaults/sessiond.toml documents exactly SESSIOND_DEFAULTS', () => {
    const file = parse(readFileSync(path.join(REPO, 'config/defaults/sessiond.toml'), 'utf8'));
    expect(isDeepStrictEqual(JSON.parse(JSON.stringify(file)), SESSIOND_DEFAULTS)).toBe(true);
  });
});
