import { Type, type TProperties } from '@sinclair/typebox';
import { ERROR_CODES } from './errors.js';
import { message, RequestId, Str } from './schema-kit.js';

/** Version 2 envelope, shared by every socket: negotiation, errors, liveness, subscriptions. */
export const PROTOCOL_VERSIONS = [1, 2] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

export const V2 = (direction: 'request' | 'reply' | 'event', description: string) => ({ direction, since: 2 as const, description });

export const ErrorCodeSchema = Type.Union(ERROR_CODES.map((c) => Type.Literal(c)));

export const HelloV2 = message(
  'hello',
  { id: RequestId, version: Type.Literal(2), client: Type.Optional(Str(64)) },
  V2('request', 'Negotiate version 2 on this connection; must be the first message.'),
);

/** Each interface's hello_ok carries `server` and `version` plus its own fields. */
export function helloOk<P extends TProperties>(props: P, description: string) {
  return message('hello_ok', { id: RequestId, version: Type.Literal(2), server: Str(64), ...props }, V2('reply', description));
}

export const ErrorV2 = message(
  'error',
  {
    id: Type.Union([RequestId, Type.Null()]),
    code: ErrorCodeSchema,
    message: Str(1024),
    retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    scheme: Type.Optional(Str(64)),
    supported: Type.Optional(Type.Array(Type.Integer(), { maxItems: 8 })),
    field: Type.Optional(Str(64)),
  },
  V2('reply', 'Any failure. id is null when the request could not be read.'),
);

export const Ping = message('ping', { id: RequestId }, V2('request', 'Liveness check.'));
export const Pong = message('pong', { id: RequestId }, V2('reply', 'Answer to ping.'));
export const Ok = message('ok', { id: RequestId }, V2('reply', 'A request that returns nothing succeeded.'));

export function subscribe(eventNames: readonly string[]) {
  const names = Type.Union(eventNames.map((e) => Type.Literal(e)));
  return {
    Subscribe: message(
      'subscribe',
      { id: RequestId, events: Type.Array(names, { minItems: 1, maxItems: eventNames.length, uniqueItems: true }) },
      V2('request', 'Receive the named events on this connection until it closes.'),
    ),
    SubscribeOk: message('subscribe_ok', { id: RequestId, events: Type.Array(names) }, V2('reply', 'Subscription active.')),
  };
}

/** An event pushed by the server; `seq` increases per connection. */
export function event<E extends string, P extends TProperties>(name: E, props: P, description: string) {
  return message('event', { event: Type.Literal(name), seq: Type.Integer({ minimum: 0 }), ...props }, V2('event', description));
}
