import type { TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ProtocolError } from './errors.js';
import type { ProtocolVersion } from './envelope.js';
import { messageSet, type InterfaceName } from './registry.js';

const compiled = new WeakMap<TObject, TypeCheck<TObject>>();
function checker(schema: TObject): TypeCheck<TObject> {
  let c = compiled.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    compiled.set(schema, c);
  }
  return c;
}

export type Message = { type: string } & Record<string, unknown>;
export type Validated = { ok: true; message: Message } | { ok: false; error: ProtocolError };

/** Check one value against one schema; the error names the field, never echoes its value. */
export function check(schema: TObject, value: unknown): ProtocolError | null {
  const c = checker(schema);
  if (c.Check(value)) return null;
  const first = c.Errors(value).First();
  const where = first?.path ? first.path : '/';
  const why = first?.message ?? 'invalid';
  return new ProtocolError('bad_request', `invalid field ${where}: ${why}`, { field: where.slice(0, 64) });
}

/** A request id, when the value carries a usable one (for error replies to bad requests). */
export function readId(value: unknown): number | null {
  if (value && typeof value === 'object' && 'id' in value) {
    const id = (value as { id: unknown }).id;
    if (Number.isSafeInteger(id) && (id as number) >= 0) return id as number;
  }
  return null;
}

function lookup(kind: 'requests' | 'replies', iface: InterfaceName, version: ProtocolVersion, value: Record<string, unknown>): Validated {
  const set = messageSet(iface, version);
  if (!set) return { ok: false, error: new ProtocolError('unsupported_version', `${iface} does not speak version ${version}`) };
  const type = value.type;
  if (typeof type !== 'string') return { ok: false, error: new ProtocolError('bad_request', 'missing string field "type"', { field: '/type' }) };
  const schema = set[kind].get(type);
  if (!schema) return { ok: false, error: new ProtocolError('unknown_type', `unknown message type "${type.slice(0, 64)}"`) };
  const err = check(schema, value);
  return err ? { ok: false, error: err } : { ok: true, message: value as Message };
}

export function validateRequest(iface: InterfaceName, version: ProtocolVersion, value: Record<string, unknown>): Validated {
  return lookup('requests', iface, version, value);
}

export function validateReply(iface: InterfaceName, version: ProtocolVersion, value: Record<string, unknown>): Validated {
  if (value.type === 'event') return validateEvent(iface, value);
  return lookup('replies', iface, version, value);
}

export function validateEvent(iface: InterfaceName, value: Record<string, unknown>): Validated {
  const set = messageSet(iface, 2);
  const name = value.event;
  const schema = typeof name === 'string' ? set?.events.get(name) : undefined;
  if (!schema) return { ok: false, error: new ProtocolError('unknown_type', `unknown event "${String(name).slice(0, 64)}"`) };
  const err = check(schema, value);
  return err ? { ok: false, error: err } : { ok: true, message: value as Message };
}
