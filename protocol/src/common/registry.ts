import type { TObject } from '@sinclair/typebox';
import { ErrorV2, HelloV2, Ok, Ping, Pong, type ProtocolVersion } from './envelope.js';
import { AUTH_V2_MESSAGES } from './auth.js';
import { GREETER_V2_MESSAGES } from './greeter.js';
import { KEYSTORE_V2_MESSAGES } from './keystore.js';
import { SESSION_V2_MESSAGES } from './session.js';
import type { MessageMeta, MessageSchema } from './schema-kit.js';
import * as v1 from './v1.js';

export type InterfaceName = 'greeter' | 'auth' | 'keystore' | 'session';

export interface MessageSet {
  /** request `type` → schema */
  requests: ReadonlyMap<string, MessageSchema>;
  /** reply `type` → schema */
  replies: ReadonlyMap<string, MessageSchema>;
  /** event name → schema (all have `type: "event"`) */
  events: ReadonlyMap<string, MessageSchema>;
}

export interface InterfaceDef {
  name: InterfaceName;
  /** Socket path, relative to the root. */
  socket: string;
  mode: number;
  description: string;
  versions: Partial<Record<ProtocolVersion, MessageSet>>;
}

export function metaOf(schema: TObject): MessageMeta {
  return (schema as MessageSchema)['x-redbear'];
}

function literal(schema: TObject, field: string): string {
  const prop = schema.properties[field] as { const?: unknown } | undefined;
  if (typeof prop?.const !== 'string') throw new Error(`message schema without a literal ${field}`);
  return prop.const;
}

function buildSet(schemas: readonly MessageSchema[]): MessageSet {
  const requests = new Map<string, MessageSchema>();
  const replies = new Map<string, MessageSchema>();
  const events = new Map<string, MessageSchema>();
  for (const s of schemas) {
    const meta = metaOf(s);
    const [map, key] =
      meta.direction === 'event' ? [events, literal(s, 'event')] : [meta.direction === 'request' ? requests : replies, literal(s, 'type')];
    if (map.has(key)) throw new Error(`duplicate ${meta.direction} ${key}`);
    map.set(key, s);
  }
  return { requests, replies, events };
}

const ENVELOPE_V2 = [HelloV2, ErrorV2, Ping, Pong, Ok];

export const INTERFACES: Readonly<Record<InterfaceName, InterfaceDef>> = {
  greeter: {
    name: 'greeter',
    socket: '/run/redbear-greeterd.sock',
    mode: 0o660,
    description: 'UI ↔ redbear-greeterd (root:greeter 0660)',
    versions: {
      1: buildSet([v1.HelloV1, v1.HelloOkV1, v1.SubmitLoginV1, v1.LoginResultV1, v1.RequestShutdownV1, v1.RequestRebootV1, v1.ActionResultV1, v1.ErrorV1]),
      2: buildSet([...ENVELOPE_V2, ...GREETER_V2_MESSAGES]),
    },
  },
  auth: {
    name: 'auth',
    socket: '/run/redbear-authd.sock',
    mode: 0o600,
    description: 'greeterd, sessiond, nx-user ↔ redbear-authd (root 0600)',
    versions: {
      1: buildSet([v1.AuthenticateV1, v1.AuthenticateResultV1, v1.StartSessionV1, v1.SessionResultV1, v1.PowerActionV1, v1.PowerResultV1, v1.ErrorV1]),
      2: buildSet([...ENVELOPE_V2, ...AUTH_V2_MESSAGES]),
    },
  },
  keystore: {
    name: 'keystore',
    socket: '/run/redbear-keystored.sock',
    mode: 0o600,
    description: 'authd, sessiond, nx-home ↔ redbear-keystored (root 0600)',
    versions: { 2: buildSet([...ENVELOPE_V2, ...KEYSTORE_V2_MESSAGES]) },
  },
  session: {
    name: 'session',
    socket: '/run/redbear-sessiond.sock',
    mode: 0o600,
    description: 'greeterd, nx-session ↔ redbear-sessiond (root 0600; a read-only query socket may be 0666)',
    versions: { 2: buildSet([...ENVELOPE_V2, ...SESSION_V2_MESSAGES]) },
  },
};

export function messageSet(iface: InterfaceName, version: ProtocolVersion): MessageSet | undefined {
  return INTERFACES[iface].versions[version];
}
