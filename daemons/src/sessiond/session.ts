import { ProtocolError, type SessionRecordWire, type SessionState } from '@redbear/protocol';

/**
 * The session model: one record per session and the only transitions it may make.
 *
 *   opening ──started──▶ active ──lock──▶ locked
 *      │                  ▲  │              │
 *      │                  └──┼───unlock─────┘
 *      └──fail──┐            │end           │end
 *               ▼            ▼              ▼
 *             closing ◀──────┴──────────────┘
 *               │finish
 *               ▼
 *             closed
 *
 * Anything else is `invalid_state`. Pure: no I/O, the clock is passed in.
 */
export type SessionAction = 'started' | 'lock' | 'unlock' | 'end' | 'fail' | 'finish';

export const TRANSITIONS: Readonly<Record<SessionState, Readonly<Partial<Record<SessionAction, SessionState>>>>> = {
  opening: { started: 'active', fail: 'closing', end: 'closing' },
  active: { lock: 'locked', end: 'closing' },
  locked: { unlock: 'active', end: 'closing' },
  closing: { finish: 'closed' },
  closed: {},
};

export interface SessionData {
  sid: string;
  uid: number;
  gid: number;
  username: string;
  vt: number;
  seat: string;
  state: SessionState;
  leader_pid: number | null;
  /** /proc start time of the leader (guards against pid reuse after a restart). */
  leader_start: string | null;
  home_uri: string;
  home_mount: string | null;
  home_persistent: boolean;
  home_open: boolean;
  created_at_ms: number;
  updated_at_ms: number;
  locked_at_ms: number | null;
  /** keystore session token (root-only state file under /run; never on the wire). */
  keystore_token: string | null;
  /** keystored's store id (hex) of the user's SecureFS home. */
  store_id: string | null;
  /** Validation-only session (redbear-kde-session.validation-request was present). */
  validation: boolean;
}

/** The state a transition would lead to, or an `invalid_state` error. */
export function nextState(from: SessionState, action: SessionAction): SessionState {
  const to = TRANSITIONS[from][action];
  if (!to) throw new ProtocolError('invalid_state', `a session that is ${from} cannot ${action}`);
  return to;
}

/** Apply a transition in place (timestamps included). */
export function transition(s: SessionData, action: SessionAction, nowMs: number): SessionData {
  const to = nextState(s.state, action);
  s.state = to;
  s.updated_at_ms = nowMs;
  if (to === 'locked') s.locked_at_ms = nowMs;
  if (to === 'active') s.locked_at_ms = null;
  return s;
}

/** The wire form (SessionRecord): no token, no internal fields. */
export function toRecord(s: SessionData): SessionRecordWire {
  return {
    sid: s.sid,
    uid: s.uid,
    username: s.username,
    vt: s.vt,
    seat: s.seat,
    state: s.state,
    leader_pid: s.leader_pid,
    home_uri: s.home_uri,
    home_mount: s.home_mount,
    home_persistent: s.home_persistent,
    created_at_ms: s.created_at_ms,
    updated_at_ms: s.updated_at_ms,
    locked_at_ms: s.locked_at_ms,
  };
}

/**
 * The sessions of one seat and their invariants: at most one active session, at most one
 * open session per user, at most one open session per VT.
 */
export class Seat {
  private readonly sessions = new Map<string, SessionData>();
  constructor(readonly name: string) {}

  all(): SessionData[] {
    return [...this.sessions.values()];
  }

  /** Sessions that are not closed. */
  open(): SessionData[] {
    return this.all().filter((s) => s.state !== 'closed');
  }

  get(sid: string): SessionData | undefined {
    return this.sessions.get(sid);
  }

  require(sid: string): SessionData {
    const s = this.sessions.get(sid);
    if (!s || s.state === 'closed') throw new ProtocolError('not_found', 'no such session');
    return s;
  }

  active(): SessionData | undefined {
    return this.all().find((s) => s.state === 'active');
  }

  ofUser(uid: number): SessionData | undefined {
    return this.open().find((s) => s.uid === uid);
  }

  onVt(vt: number): SessionData | undefined {
    return this.open().find((s) => s.vt === vt);
  }

  add(s: SessionData): void {
    if (this.sessions.has(s.sid)) throw new ProtocolError('exists', 'session id in use');
    if (this.ofUser(s.uid)) throw new ProtocolError('exists', `${s.username} already has a session: unlock or activate it`);
    if (this.onVt(s.vt)) throw new ProtocolError('conflict', `VT ${s.vt} is in use by another session`);
    this.sessions.set(s.sid, s);
  }

  remove(sid: string): void {
    this.sessions.delete(sid);
  }

  /** Throws when an invariant does not hold (checked after every change). */
  check(): void {
    const open = this.open();
    const active = open.filter((s) => s.state === 'active');
    if (active.length > 1) throw new Error(`seat ${this.name}: ${active.length} active sessions`);
    if (new Set(open.map((s) => s.uid)).size !== open.length) throw new Error(`seat ${this.name}: two sessions of one user`);
    if (new Set(open.map((s) => s.vt)).size !== open.length) throw new Error(`seat ${this.name}: two sessions on one VT`);
  }
}
