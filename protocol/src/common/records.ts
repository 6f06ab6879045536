import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Str, Uid, Username, Vt } from './schema-kit.js';

/**
 * Records of TASK-0224 (accounts/identity v1.2) as persisted or published by the daemons;
 * `schemas/accounts_v1_2.schema.json` is generated from these.
 */

export const SESSION_STATES = ['opening', 'active', 'locked', 'closing', 'closed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];
export const SessionStateSchema = Type.Union(SESSION_STATES.map((s) => Type.Literal(s)));

export const AccountRecord = Type.Object(
  {
    username: Username,
    uid: Uid,
    gid: Uid,
    full_name: Str(256),
    home: Str(4096),
    shell: Str(4096),
    locked: Type.Boolean(),
    has_pin: Type.Boolean(),
    admin: Type.Boolean(),
  },
  { additionalProperties: false, description: 'A local account as authd reports it (never a hash).' },
);

export const SessionRecord = Type.Object(
  {
    sid: Str(64),
    uid: Uid,
    username: Username,
    vt: Vt,
    seat: Str(64),
    state: SessionStateSchema,
    leader_pid: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    home_uri: Str(4096),
    home_mount: Type.Union([Str(4096), Type.Null()]),
    home_persistent: Type.Boolean(),
    created_at_ms: Type.Integer({ minimum: 0 }),
    updated_at_ms: Type.Integer({ minimum: 0 }),
    locked_at_ms: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  },
  { additionalProperties: false, description: 'A session as sessiond persists it under /run and publishes it.' },
);
export type SessionRecordWire = Static<typeof SessionRecord>;

export const KeystoreStatusRecord = Type.Object(
  {
    uid: Uid,
    exists: Type.Boolean(),
    unlocked: Type.Boolean(),
    protectors: Type.Array(Type.Union([Type.Literal('password'), Type.Literal('recovery'), Type.Literal('pin')]), { maxItems: 8 }),
    open_sessions: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, description: "A user's keystore domain as keystored reports it (no key material)." },
);

export const RECORDS: Readonly<Record<string, TSchema>> = {
  AccountRecord,
  SessionRecord,
  KeystoreStatusRecord,
};
