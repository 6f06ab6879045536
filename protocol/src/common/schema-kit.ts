import { Type, type TObject, type TProperties, type TLiteral } from '@sinclair/typebox';

export type Direction = 'request' | 'reply' | 'event';

export interface MessageMeta {
  direction: Direction;
  /** Protocol version the message first appeared in. */
  since: 1 | 2;
  description: string;
}

export type MessageSchema<T extends string = string, P extends TProperties = TProperties> = TObject<
  P & { type: TLiteral<T> }
> & { 'x-redbear': MessageMeta };

/**
 * Define one message: its `type` literal, its fields and its metadata. v1 messages allow
 * unknown extra fields (as Red Bear's serde structs do); v2 messages are closed.
 */
export function message<T extends string, P extends TProperties>(
  type: T,
  props: P,
  meta: MessageMeta,
): MessageSchema<T, P> {
  const schema = Type.Object(
    { type: Type.Literal(type), ...props },
    {
      description: meta.description,
      additionalProperties: meta.since === 1,
    },
  ) as unknown as MessageSchema<T, P>;
  Object.defineProperty(schema, 'x-redbear', { value: meta, enumerable: true });
  return schema;
}

/** Request id of v2 requests, echoed in the reply. */
export const RequestId = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** A bounded string: every string on the wire has a maximum length. */
export const Str = (maxLength: number, extra: object = {}) => Type.String({ maxLength, ...extra });

export const Username = Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z_][a-z0-9_-]*[$]?$' });
/** Usernames as received from clients: checked for length only, so that an unknown user gets auth_failed, not bad_request. */
export const LooseUsername = Type.String({ minLength: 1, maxLength: 256 });
export const Secret = Type.String({ minLength: 0, maxLength: 4096, description: 'secret: never logged' });
export const Vt = Type.Integer({ minimum: 1, maximum: 63 });
export const Uid = Type.Integer({ minimum: 0, maximum: 4294967294 });
export const Base64 = (maxLength: number) => Type.String({ maxLength, pattern: '^[A-Za-z0-9+/]*={0,2}$' });
