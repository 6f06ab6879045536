/**
 * Line-preserving model of a colon-separated account database.
 *
 * Every original line is kept (`lines`); well-formed entries are also exposed
 * in `entries` for lookups. Serializing an unmodified model reproduces the
 * input byte-for-byte, including comments, blank lines, NIS `+`/`-` lines,
 * malformed lines, invalid UTF-8 and a missing final newline.
 */
import {
  formatGroup,
  formatGshadow,
  formatPasswd,
  formatShadow,
  parseGroupFields,
  parseGshadowFields,
  parsePasswdFields,
  parseShadowFields,
  type FieldResult,
  type GroupEntry,
  type GshadowEntry,
  type PasswdEntry,
  type ShadowEntry,
} from './formats.js';
import type { AccountFileName } from './paths.js';

export interface EntryTypes {
  passwd: PasswdEntry;
  shadow: ShadowEntry;
  group: GroupEntry;
  gshadow: GshadowEntry;
}

export interface FileProblem {
  file: AccountFileName;
  /** 1-based line number. */
  line: number;
  reason: string;
}

export type LineKind = 'entry' | 'blank' | 'comment' | 'nis' | 'malformed';

export interface FileLine<E> {
  kind: LineKind;
  /** Exact original bytes of the line (without the `\n`). */
  raw: Buffer;
  /** Present when kind === 'entry'. */
  entry?: E;
}

export interface ParsedFile<K extends AccountFileName> {
  file: K;
  lines: FileLine<EntryTypes[K]>[];
  /** Well-formed, first-occurrence entries, in file order. */
  entries: EntryTypes[K][];
  problems: FileProblem[];
  /** Whether the original ended with `\n` (an empty file counts as true). */
  trailingNewline: boolean;
}

interface Codec<E> {
  parse(line: string): FieldResult<E>;
  format(e: E): string;
}

const CODECS: { [K in AccountFileName]: Codec<EntryTypes[K]> } = {
  passwd: { parse: parsePasswdFields, format: formatPasswd },
  shadow: { parse: parseShadowFields, format: formatShadow },
  group: { parse: parseGroupFields, format: formatGroup },
  gshadow: { parse: parseGshadowFields, format: formatGshadow },
};

export function formatEntry<K extends AccountFileName>(file: K, e: EntryTypes[K]): string {
  return CODECS[file].format(e);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function splitLines(buf: Buffer): { lines: Buffer[]; trailingNewline: boolean } {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl === -1) break;
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  if (start < buf.length) {
    lines.push(buf.subarray(start));
    return { lines, trailingNewline: false };
  }
  return { lines, trailingNewline: true };
}

export function parseAccountFile<K extends AccountFileName>(file: K, content: Buffer | string): ParsedFile<K> {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const codec = CODECS[file] as Codec<EntryTypes[K]>;
  const { lines: raws, trailingNewline } = splitLines(buf);
  const lines: FileLine<EntryTypes[K]>[] = [];
  const entries: EntryTypes[K][] = [];
  const problems: FileProblem[] = [];
  const seen = new Set<string>();
  raws.forEach((raw, i) => {
    const lineNo = i + 1;
    const problem = (reason: string): void => {
      problems.push({ file, line: lineNo, reason });
      lines.push({ kind: 'malformed', raw });
    };
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      problem('invalid UTF-8');
      return;
    }
    if (text.trim() === '') {
      lines.push({ kind: 'blank', raw });
      return;
    }
    if (text.startsWith('#')) {
      lines.push({ kind: 'comment', raw });
      return;
    }
    if (text.startsWith('+') || text.startsWith('-')) {
      lines.push({ kind: 'nis', raw });
      return;
    }
    if (/[\0\r]/.test(text)) {
      problem('control character in line');
      return;
    }
    const r = codec.parse(text);
    if (!r.ok) {
      problem(r.reason);
      return;
    }
    const name = (r.entry as { name: string }).name;
    if (seen.has(name)) {
      problem(`duplicate entry for ${JSON.stringify(name)}`);
      return;
    }
    seen.add(name);
    lines.push({ kind: 'entry', raw, entry: r.entry });
    entries.push(r.entry);
  });
  return { file, lines, entries, problems, trailingNewline };
}

export function serializeAccountFile(parsed: ParsedFile<AccountFileName>): Buffer {
  const parts: Buffer[] = [];
  const nl = Buffer.from('\n');
  parsed.lines.forEach((l, i) => {
    if (i > 0) parts.push(nl);
    parts.push(l.raw);
  });
  if (parsed.trailingNewline && parsed.lines.length > 0) parts.push(nl);
  return Buffer.concat(parts);
}

function nameOf(e: unknown): string {
  return (e as { name: string }).name;
}

function rebuildEntries<E>(lines: FileLine<E>[]): E[] {
  const out: E[] = [];
  for (const l of lines) if (l.kind === 'entry' && l.entry !== undefined) out.push(l.entry);
  return out;
}

/**
 * Immutable edit: replace (or with `null`, delete) the entry line for `name`.
 * Untouched lines keep their original bytes.
 */
export function replaceEntry<K extends AccountFileName>(
  parsed: ParsedFile<K>,
  name: string,
  next: EntryTypes[K] | null,
): ParsedFile<K> {
  const lines: FileLine<EntryTypes[K]>[] = [];
  for (const l of parsed.lines) {
    if (l.kind === 'entry' && l.entry !== undefined && nameOf(l.entry) === name) {
      if (next !== null) lines.push({ kind: 'entry', raw: Buffer.from(formatEntry(parsed.file, next), 'utf8'), entry: next });
    } else {
      lines.push(l);
    }
  }
  return { ...parsed, lines, entries: rebuildEntries(lines) };
}

/**
 * Immutable edit: append an entry. It goes before the first NIS `+`/`-`
 * line, if any (entries after a `+` compat line would be shadowed), else at
 * the end. A file that was empty gets a trailing newline.
 */
export function appendEntry<K extends AccountFileName>(
  parsed: ParsedFile<K>,
  entry: EntryTypes[K],
): ParsedFile<K> {
  const line: FileLine<EntryTypes[K]> = { kind: 'entry', raw: Buffer.from(formatEntry(parsed.file, entry), 'utf8'), entry };
  const lines = [...parsed.lines];
  const nis = lines.findIndex((l) => l.kind === 'nis');
  if (nis === -1) lines.push(line);
  else lines.splice(nis, 0, line);
  const trailingNewline = parsed.lines.length === 0 ? true : parsed.trailingNewline;
  return { ...parsed, lines, entries: rebuildEntries(lines), trailingNewline };
}

export function findEntry<K extends AccountFileName>(parsed: ParsedFile<K>, name: string): EntryTypes[K] | undefined {
  return parsed.entries.find((e) => nameOf(e) === name);
}

/** Apply `fn` to every well-formed entry; lines where `fn` returns the same object are untouched. */
export function mapEntries<K extends AccountFileName>(
  parsed: ParsedFile<K>,
  fn: (e: EntryTypes[K]) => EntryTypes[K] | null,
): ParsedFile<K> {
  const lines: FileLine<EntryTypes[K]>[] = [];
  for (const l of parsed.lines) {
    if (l.kind !== 'entry' || l.entry === undefined) {
      lines.push(l);
      continue;
    }
    const next = fn(l.entry);
    if (next === l.entry) lines.push(l);
    else if (next !== null) lines.push({ kind: 'entry', raw: Buffer.from(formatEntry(parsed.file, next), 'utf8'), entry: next });
  }
  return { ...parsed, lines, entries: rebuildEntries(lines) };
}
