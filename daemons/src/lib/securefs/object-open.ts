import { open, type FileHandle } from 'node:fs/promises';
import { ChunkCipher, ChunkReader, layoutFromObjectSize, objectSize, type CryptoStats, type ObjectExpectation } from './content-object.js';
import { integrity, SecureFsError, isSecureFsError } from './errors.js';
import { HEADER_LEN, headerSupported, headerTagValid, parseHeader, type Header } from './header.js';
import { deriveHeaderTagKey } from './key-provider.js';

export type FileKeySource = (fileId: Buffer, keyGen: number) => Promise<Buffer>;

export interface OpenedObject {
  fh: FileHandle;
  header: Header;
  reader: ChunkReader;
  close(): Promise<void>;
}

async function tagValid(h: Header, keys: FileKeySource): Promise<boolean> {
  const kh = deriveHeaderTagKey(await keys(h.fileId, h.keyGen));
  try {
    return headerTagValid(h, kh);
  } finally {
    kh.fill(0);
  }
}

/**
 * Authenticate an object's header against the index entry (when given) and its size, and return
 * a chunk reader. Without an expectation the final chunk is verified first (age's seek rule).
 */
export async function openObject(
  absPath: string,
  keys: FileKeySource,
  stats: CryptoStats,
  expect: ObjectExpectation | null,
  label: { path?: string; object?: string },
): Promise<OpenedObject> {
  let fh: FileHandle;
  try {
    fh = await open(absPath, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw integrity('missing_object', `object ${label.object ?? absPath} is missing`, label);
    }
    throw e;
  }
  let reader: ChunkReader | null = null;
  try {
    const size = (await fh.stat()).size;
    const hb = Buffer.alloc(HEADER_LEN);
    const { bytesRead } = await fh.read(hb, 0, HEADER_LEN, 0);
    let header: Header;
    try {
      header = parseHeader(hb.subarray(0, bytesRead));
    } catch (e) {
      throw isSecureFsError(e) ? e.withDetail(label) : e;
    }
    if (!headerSupported(header)) {
      if (expect) throw integrity('downgrade', 'header version/suite/chunk/flags fields differ from what the index pinned', label);
      throw new SecureFsError('unsupported_version', `object format ${header.version}/suite ${header.suite} unsupported`, {
        ...label,
        kind: 'unsupported',
      });
    }
    if (expect && (!header.fileId.equals(expect.fileId) || header.keyGen !== expect.keyGen)) {
      // Genuine object of another file (swap) or just a corrupted header?
      const own = await tagValid(header, keys);
      throw own
        ? integrity('swapped', 'object belongs to another file (swapped or moved object)', label)
        : integrity('header_tag', 'header failed authentication', label);
    }
    if (!(await tagValid(header, keys))) throw integrity('header_tag', 'header failed authentication', label);
    if (expect && !header.tag.equals(expect.headerTag)) {
      throw integrity('stale_version', 'object is an authentic but different (older) version of this file', label);
    }
    let plainLen: number;
    if (expect) {
      const want = objectSize(expect.size);
      if (size < want) throw integrity('truncation', `object is ${want - size} bytes shorter than the index says`, label);
      if (size > want) throw integrity('extra_chunk', `object has ${size - want} bytes beyond its final chunk`, label);
      plainLen = expect.size;
    } else {
      const layout = layoutFromObjectSize(size);
      if (!layout) throw integrity('truncation', 'object size is not a valid chunk layout', label);
      plainLen = layout.plainLen;
    }
    const fileKey = await keys(header.fileId, header.keyGen);
    reader = new ChunkReader(fh, new ChunkCipher(fileKey, header), plainLen, stats, label);
    if (!expect) await reader.readRange(reader.chunks - 1, reader.chunks - 1).then((b) => b.forEach((x) => x.fill(0)));
    const r = reader;
    return {
      fh,
      header,
      reader: r,
      close: async () => {
        r.destroy();
        await fh.close();
      },
    };
  } catch (e) {
    reader?.destroy();
    await fh.close();
    throw e;
  }
}
