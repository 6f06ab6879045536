/**
 * A small worker_threads pool for CPU-bound crypt work, so the daemon's event loop never blocks.
 *
 * - size = min(2, available cores) by default; workers start lazily and are replaced when they die;
 * - bounded queue: when `maxQueue` tasks are already waiting, `run` rejects with BusyError;
 * - idle workers are `unref`'d (they never keep a process alive); a worker is `ref`'d only while it
 *   runs a task, so an awaited verification is not cut short by process exit;
 * - optional per-task `timeoutMs`: the worker is terminated and replaced, the task rejects with
 *   WorkerCrashedError('timeout');
 * - `close()` terminates everything; pending tasks reject with PoolClosedError;
 * - `shaCryptBackend` picks who computes `$5$`/`$6$` (default `auto`: libxcrypt when it loads in
 *   the workers, else the built-in implementation); `probe()` tells what the workers see;
 * - `nice` lowers the workers' scheduling priority (per thread, Linux);
 * - a pool of one worker posts the next waiting task to it while it is busy (never a task with
 *   a timeout), so that under load the worker starts it the moment it finishes instead of
 *   sleeping until this thread answers. That saves a thread wake-up per task on both sides
 *   (measured in docs/accounts/authentication-policy.md). With more workers a task posted ahead
 *   could wait behind a slow one while another worker idles, so they never do it. A task posted
 *   ahead counts towards `maxQueue`; if its worker dies first it rejects like the running one.
 *   Its password goes in a SharedArrayBuffer instead of being transferred, so that this thread
 *   can still zero it if the worker is terminated before reading it (the worker copies it out
 *   and zeroes it on receipt).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { BusyError, MalformedHashError, PoolClosedError, UnsupportedHashError, WorkerCrashedError } from './errors.js';
import type { CryptRequestBody, CryptResponse, CryptWorkerInfo, CryptWorkerOptions, ShaCryptBackend, ShaCryptImplementation } from './worker-protocol.js';
import { spawnCryptWorker } from './worker-spawn.js';

export interface CryptPoolOptions {
  /** Number of worker threads; default min(2, cores). */
  size?: number;
  /** Maximum tasks waiting for a worker (not counting running ones); default 32. */
  maxQueue?: number;
  /** Default SHA-crypt backend of requests that do not name one; default `auto`. */
  shaCryptBackend?: ShaCryptBackend;
  /**
   * Libraries the workers try for libxcrypt (default LIBXCRYPT_CANDIDATES). `[]` makes libxcrypt
   * unavailable in the workers — for tests of the fallbacks.
   */
  libxcryptCandidates?: readonly string[];
  /** Nice value for the worker threads (0–19; default 0 = inherit). Linux only. */
  nice?: number;
}

export interface CryptResult {
  value: string;
  /** Time the computation took inside the worker. */
  elapsedMs: number;
  /** SHA-crypt requests: the implementation that computed `value`. */
  backend?: ShaCryptImplementation;
}

interface Task {
  body: CryptRequestBody; // replaced by a private copy in #dispatch when needed
  /** A task posted ahead: its password, in shared memory, zeroed here if the worker never reads it. */
  shared?: Uint8Array;
  timeoutMs: number | undefined;
  resolve(r: CryptResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  /** Posted ahead while `task` runs (see the module comment); becomes `task` when it ends. */
  next: Task | null;
  timer: NodeJS.Timeout | null;
  lastError: Error | null;
  dead: boolean;
}

let nextId = 1;

function scrub(body: CryptRequestBody): void {
  if ('password' in body) body.password.fill(0);
}

export class CryptWorkerPool {
  readonly size: number;
  readonly maxQueue: number;
  readonly shaCryptBackend: ShaCryptBackend;
  readonly #workerOptions: CryptWorkerOptions;
  #slots: Slot[] = [];
  #queue: Task[] = [];
  #closed = false;
  #restarts = 0;

  constructor(opts: CryptPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? Math.min(2, availableParallelism()));
    this.maxQueue = Math.max(0, opts.maxQueue ?? 32);
    this.shaCryptBackend = opts.shaCryptBackend ?? 'auto';
    const nice = Math.min(19, Math.max(0, Math.trunc(opts.nice ?? 0)));
    this.#workerOptions = {
      ...(opts.libxcryptCandidates ? { libxcryptCandidates: [...opts.libxcryptCandidates] } : {}),
      ...(nice > 0 ? { nice } : {}),
    };
  }

  /** `queued` counts the tasks posted ahead to busy workers (`ahead`) too. */
  get stats(): { workers: number; busy: number; queued: number; ahead: number; restarts: number; closed: boolean } {
    return {
      workers: this.#slots.length,
      busy: this.#slots.filter((s) => s.task).length,
      queued: this.#queue.length + this.#postedAhead(),
      ahead: this.#postedAhead(),
      restarts: this.#restarts,
      closed: this.#closed,
    };
  }

  /**
   * Run one request. A `password` in `body` must be a private Uint8Array owning its whole
   * ArrayBuffer (not a pooled Buffer): it is transferred to the worker, which zeroes it; on any
   * early failure it is zeroed here.
   */
  run(body: CryptRequestBody, opts: { timeoutMs?: number } = {}): Promise<CryptResult> {
    return new Promise<CryptResult>((resolve, reject) => {
      if (this.#closed) {
        scrub(body);
        reject(new PoolClosedError());
        return;
      }
      const task: Task = { body, timeoutMs: opts.timeoutMs, resolve, reject };
      const slot = this.#idleSlot();
      if (slot) {
        this.#dispatch(slot, task);
      } else if (this.#queue.length + this.#postedAhead() >= this.maxQueue) {
        scrub(body);
        reject(new BusyError(this.#queue.length + this.#postedAhead()));
      } else {
        this.#queue.push(task);
        this.#pump();
      }
    });
  }

  /**
   * What a worker of this pool sees: whether libxcrypt loaded (and from where, or why not), its
   * thread id and nice value. Runs as a (cheap) task, so it starts a worker if none is running.
   */
  async probe(opts: { timeoutMs?: number } = {}): Promise<CryptWorkerInfo> {
    return JSON.parse((await this.run({ op: 'probe' }, opts)).value) as CryptWorkerInfo;
  }

  /** The implementation this pool's default backend resolves to (`auto`: libxcrypt if the workers load it). */
  async shaCryptImplementation(): Promise<ShaCryptImplementation> {
    if (this.shaCryptBackend === 'builtin') return 'builtin';
    const info = await this.probe();
    if (info.libxcrypt !== null) return 'libxcrypt';
    if (this.shaCryptBackend === 'libxcrypt') throw new UnsupportedHashError('sha512crypt', `libxcrypt backend required: ${info.libxcryptError ?? 'libxcrypt unavailable'}`);
    return 'builtin';
  }

  /** Terminate all workers; queued and running tasks reject with PoolClosedError. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const queued = this.#queue.splice(0);
    for (const t of queued) {
      scrub(t.body);
      t.reject(new PoolClosedError());
    }
    const slots = this.#slots.splice(0);
    await Promise.all(
      slots.map(async (s) => {
        s.dead = true;
        if (s.timer) clearTimeout(s.timer);
        for (const t of [s.task, s.next]) {
          t?.shared?.fill(0);
          t?.reject(new PoolClosedError());
        }
        s.task = s.next = null;
        await s.worker.terminate();
      }),
    );
  }

  #postedAhead(): number {
    let n = 0;
    for (const s of this.#slots) if (s.next) n++;
    return n;
  }

  /** The busy worker of a one-worker pool, if it can take `task` ahead (neither it nor the running task has a timeout). */
  #aheadSlot(task: Task): Slot | null {
    if (this.size !== 1 || task.timeoutMs !== undefined) return null;
    return this.#slots.find((s) => s.task && !s.next && !s.dead && s.task.timeoutMs === undefined) ?? null;
  }

  #idleSlot(): Slot | null {
    const idle = this.#slots.find((s) => !s.task && !s.dead);
    if (idle) return idle;
    if (this.#slots.length < this.size) return this.#spawn();
    return null;
  }

  #spawn(): Slot {
    const worker = spawnCryptWorker(this.#workerOptions);
    const slot: Slot = { worker, task: null, next: null, timer: null, lastError: null, dead: false };
    worker.unref();
    worker.on('message', (msg: CryptResponse) => this.#onMessage(slot, msg));
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('exit', (code) => this.#onExit(slot, code));
    this.#slots.push(slot);
    return slot;
  }

  #dispatch(slot: Slot, task: Task, ahead = false): void {
    if ((task.body.op === 'sha512crypt' || task.body.op === 'sha256crypt') && task.body.backend === undefined) {
      task.body = { ...task.body, backend: this.shaCryptBackend };
    }
    if (ahead) slot.next = task;
    else slot.task = task;
    slot.worker.ref();
    const id = nextId++;
    if ('password' in task.body && ahead) {
      const pw = task.body.password;
      if (!(pw.buffer instanceof SharedArrayBuffer && pw.byteOffset === 0 && pw.byteLength === pw.buffer.byteLength)) {
        const shared = new Uint8Array(new SharedArrayBuffer(pw.byteLength));
        shared.set(pw);
        pw.fill(0);
        task.body = { ...task.body, password: shared };
      }
      task.shared = task.body.password;
    } else if ('password' in task.body) {
      const pw = task.body.password;
      if (pw.byteOffset !== 0 || pw.byteLength !== pw.buffer.byteLength || !(pw.buffer instanceof ArrayBuffer)) {
        // A view into a larger (e.g. Node's pooled) buffer must not be transferred: that would
        // detach the whole pool. Hand over a private copy instead and scrub the view.
        const own = new Uint8Array(pw.byteLength);
        own.set(pw);
        pw.fill(0);
        task.body = { ...task.body, password: own };
      }
    }
    const transfer = 'password' in task.body && !ahead ? [task.body.password.buffer as ArrayBuffer] : [];
    try {
      slot.worker.postMessage({ ...task.body, id }, transfer);
    } catch (e) {
      if (ahead) slot.next = null;
      else slot.task = null;
      if (!slot.task) slot.worker.unref();
      scrub(task.body);
      task.reject(e as Error);
      return;
    }
    if (task.timeoutMs !== undefined) {
      slot.timer = setTimeout(() => {
        slot.timer = null;
        if (slot.task !== task) return;
        slot.task = null;
        this.#retire(slot);
        this.#restarts++;
        task.reject(new WorkerCrashedError('timeout', `no result within ${task.timeoutMs} ms`));
        void slot.worker.terminate();
        this.#pump();
      }, task.timeoutMs);
      slot.timer.unref();
    }
  }

  #onMessage(slot: Slot, msg: CryptResponse): void {
    const task = slot.task;
    if (!task) return;
    // The worker starts the task posted ahead as soon as it has sent this result.
    slot.task = slot.next;
    slot.next = null;
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = null;
    }
    if (!slot.task) slot.worker.unref();
    if (msg.ok) task.resolve({ value: msg.value, elapsedMs: msg.elapsedMs, ...(msg.backend ? { backend: msg.backend } : {}) });
    else if (msg.code === 'malformed') task.reject(new MalformedHashError(msg.scheme, msg.message));
    else if (msg.code === 'unsupported') task.reject(new UnsupportedHashError(msg.scheme, msg.message));
    else task.reject(new Error(`${msg.scheme}: ${msg.message}`));
    this.#pump();
  }

  #onExit(slot: Slot, code: number): void {
    if (slot.timer) clearTimeout(slot.timer);
    const tasks = [slot.task, slot.next];
    slot.task = slot.next = null;
    const wasRetired = slot.dead;
    this.#retire(slot);
    if (this.#closed) return;
    if (!wasRetired) this.#restarts++;
    const why = slot.lastError?.message ?? `exit code ${code}`;
    for (const t of tasks) {
      t?.shared?.fill(0);
      t?.reject(new WorkerCrashedError('crash', t === tasks[1] ? `${why} (before this task ran)` : why));
    }
    this.#pump();
  }

  /** Remove a slot from the pool (its worker is dead or being terminated). */
  #retire(slot: Slot): void {
    slot.dead = true;
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
  }

  #pump(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const slot = this.#idleSlot();
      if (slot) {
        this.#dispatch(slot, this.#queue.shift()!);
        continue;
      }
      const ahead = this.#aheadSlot(this.#queue[0]!);
      if (!ahead) return;
      this.#dispatch(ahead, this.#queue.shift()!, true);
    }
  }
}

let defaultPool: CryptWorkerPool | null = null;

/** The process-wide pool used by verifyPassword/hashPassword when none is passed. */
export function getCryptPool(): CryptWorkerPool {
  defaultPool ??= new CryptWorkerPool();
  return defaultPool;
}

/** Close the process-wide pool (a later call to getCryptPool creates a new one). */
export async function closeCryptPool(): Promise<void> {
  const p = defaultPool;
  defaultPool = null;
  await p?.close();
}
