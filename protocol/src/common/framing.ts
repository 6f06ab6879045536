import { ProtocolError, type ErrorCode } from './errors.js';

/** One JSON message per `\n`-terminated UTF-8 line, at most this many bytes including the newline. */
export const MAX_FRAME_BYTES = 64 * 1024;

export type DecodedFrame =
  | { kind: 'message'; value: Record<string, unknown> }
  | { kind: 'error'; error: ProtocolError; fatal: boolean };

const NEWLINE = 0x0a;

function frameError(code: ErrorCode, message: string, fatal = false): DecodedFrame {
  return { kind: 'error', error: new ProtocolError(code, message), fatal };
}

/**
 * Incremental line decoder. Feed it raw chunks; it returns frames. It never throws:
 * every malformed input becomes a typed error frame. Consumed bytes are zeroed because
 * a line may carry a password.
 */
export class LineDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private broken = false;
  constructor(private readonly maxBytes: number = MAX_FRAME_BYTES) {}

  /** True once an oversized frame was seen: the stream can no longer be trusted. */
  get isBroken(): boolean {
    return this.broken;
  }

  push(chunk: Uint8Array): DecodedFrame[] {
    if (this.broken) return [];
    const out: DecodedFrame[] = [];
    const data = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    if (this.buf.length !== 0) this.buf.fill(0);
    let start = 0;
    for (;;) {
      const nl = data.indexOf(NEWLINE, start);
      if (nl === -1) break;
      if (nl + 1 - start > this.maxBytes) {
        this.broken = true;
        out.push(frameError('frame_too_large', `frame exceeds ${this.maxBytes} bytes`, true));
        data.fill(0);
        this.buf = new Uint8Array(0);
        return out;
      }
      out.push(this.decodeLine(data.subarray(start, nl)));
      data.fill(0, start, nl + 1);
      start = nl + 1;
    }
    const rest = data.subarray(start);
    if (rest.length + 1 > this.maxBytes) {
      this.broken = true;
      out.push(frameError('frame_too_large', `frame exceeds ${this.maxBytes} bytes`, true));
      data.fill(0);
      this.buf = new Uint8Array(0);
      return out;
    }
    this.buf = rest.slice();
    rest.fill(0);
    if (data !== chunk) data.fill(0);
    return out;
  }

  /** Bytes held for an unterminated line. */
  get pending(): number {
    return this.buf.length;
  }

  /** Wipe any buffered partial line. */
  reset(): void {
    this.buf.fill(0);
    this.buf = new Uint8Array(0);
  }

  private decodeLine(line: Uint8Array): DecodedFrame {
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    let text: string;
    try {
      text = this.utf8.decode(line.subarray(0, end));
    } catch {
      line.fill(0);
      return frameError('invalid_utf8', 'frame is not valid UTF-8');
    }
    line.fill(0);
    if (text.trim() === '') return frameError('invalid_json', 'empty frame');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return frameError('invalid_json', 'frame is not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return frameError('not_an_object', 'frame is not a JSON object');
    }
    return { kind: 'message', value: value as Record<string, unknown> };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

const utf8Encoder = new TextEncoder();

/** Encode one message as a line. Throws ProtocolError if it would exceed the frame limit. */
export function encodeLine(message: object, maxBytes: number = MAX_FRAME_BYTES): Uint8Array {
  const bytes = utf8Encoder.encode(JSON.stringify(message) + '\n');
  if (bytes.length > maxBytes) {
    throw new ProtocolError('frame_too_large', `encoded frame is ${bytes.length} bytes, limit ${maxBytes}`);
  }
  return bytes;
}
