/** Field names whose values are secrets wherever they appear in a log record. */
const SECRET_KEY = /pass(word)?|secret|pin$|^pin|token|approval|grant|recovery|umk|kek|key$|_key|sealed|challenge|cookie|authorization/i;
export const REDACTED = '[redacted]';

/** Deep-copy a log record with secrets replaced; Buffers never reach a log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${(value as Uint8Array).length} bytes]`;
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value as { code?: string }).code ? { code: (value as { code?: string }).code } : {} };
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}
