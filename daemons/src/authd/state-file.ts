import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

export interface JsonStateFileOptions {
  /**
   * Start writes at least this long apart (default 0). Saves in between are coalesced into the
   * next write, so a flood of changes (failed logins) costs one write per interval instead of a
   * write — two fsyncs and ten file operations — per change. `flush()` writes at once.
   */
  minIntervalMs?: number;
}

/**
 * authd's own state files (throttle.json, pins.json): JSON, mode 0600, replaced atomically
 * (temp file, fsync, rename, fsync of the directory). Writes are coalesced: while one is in
 * progress (or, with `minIntervalMs`, until the interval has passed), further saves only mark
 * the state dirty and the latest snapshot is written next.
 */
export class JsonStateFile<T> {
  private writing: Promise<void> | null = null;
  private dirty = false;
  private readonly minIntervalMs: number;
  private lastWriteStart = -Infinity;
  private urgent = false;
  /** Ends the wait for `minIntervalMs` early (flush). */
  private wake: (() => void) | null = null;

  constructor(
    readonly file: string,
    private readonly snapshot: () => T,
    private readonly onError: (e: unknown) => void = () => undefined,
    opts: JsonStateFileOptions = {},
  ) {
    this.minIntervalMs = Math.max(0, opts.minIntervalMs ?? 0);
  }

  /** Read and parse the file; null when it does not exist. A corrupt file is renamed aside and treated as absent. */
  static async read(file: string): Promise<unknown> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    let text: string;
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > 64 * 1024 * 1024) throw new Error(`${file} is not a regular file of sane size`);
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      await fs.rename(file, `${file}.corrupt`).catch(() => undefined);
      return null;
    }
  }

  /** Schedule a write of the current snapshot; resolves once a snapshot taken after this call is durable. */
  save(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.loop();
    return this.writing;
  }

  /** Write pending changes now (not waiting for `minIntervalMs`) and wait for every write. */
  async flush(): Promise<void> {
    this.urgent = true;
    try {
      this.wake?.();
      while (this.writing) await this.writing;
    } finally {
      this.urgent = false;
    }
  }

  private async loop(): Promise<void> {
    try {
      while (this.dirty) {
        const wait = this.lastWriteStart + this.minIntervalMs - performance.now();
        if (wait > 0 && !this.urgent) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => this.wake?.(), wait);
            this.wake = () => {
              clearTimeout(timer);
              this.wake = null;
              resolve();
            };
          });
        }
        this.dirty = false;
        this.lastWriteStart = performance.now();
        try {
          await writeAtomic(this.file, JSON.stringify(this.snapshot()) + '\n');
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      // No await between the last dirty check and here: a save() after this starts a new loop.
      this.writing = null;
    }
  }
}

export async function writeAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  const d = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
