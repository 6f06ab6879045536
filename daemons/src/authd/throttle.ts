import type { Clock } from './clock.js';

/**
 * Failure throttling (seed G2.5; docs/accounts/authentication-policy.md).
 *
 * - Per user (keyed by the username string as typed, so unknown names behave exactly like
 *   real ones): after `max_failures` consecutive failures the name is locked out for
 *   `lockout_ms`, doubling with every further lockout up to `lockout_max_ms`. A success resets
 *   the tally; a tally whose last failure is older than `reset_after_ms` is forgotten.
 *   Persisted, so a restart of authd does not clear a lockout.
 * - Per client (peer uid:pid of the socket): at most `client_max_failures` failures in a sliding
 *   `client_window_ms`, across all usernames (stops one client spraying many names). In memory.
 * - Only real attempts count: requests refused before a secret was checked (rate limited,
 *   malformed, unsupported hash) never touch a tally.
 */
export interface ThrottlePolicy {
  max_failures: number;
  lockout_ms: number;
  lockout_max_ms: number;
  reset_after_ms: number;
  client_max_failures: number;
  client_window_ms: number;
  max_tracked_users: number;
}

export interface UserTally {
  failures: number;
  /** Lockouts served since the last success (drives the growth). */
  lockouts: number;
  locked_until: number;
  last_failure: number;
}

export interface ThrottleSnapshot {
  version: 1;
  users: Record<string, UserTally>;
}

/**
 * One client's failure times, oldest first, as a queue: expired entries leave from the front
 * (amortised O(1) per attempt however many failures a flood has recorded). Only the newest
 * `client_max_failures` are kept: retryAfter needs no more.
 */
interface ClientWindow {
  times: number[];
  head: number;
}

export class Throttle {
  private readonly users = new Map<string, UserTally>();
  private readonly clients = new Map<string, ClientWindow>();

  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly now: Clock,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Milliseconds until an attempt by this client for this name may proceed (0 = now). */
  retryAfter(username: string, client: string): number {
    const t = this.now();
    let wait = 0;
    const u = this.current(username, t);
    if (u && u.locked_until > t) wait = u.locked_until - t;
    const c = this.clientWindow(client, t);
    const max = this.policy.client_max_failures;
    if (c && c.times.length - c.head >= max) {
      const oldest = c.times[c.times.length - max] ?? t;
      wait = Math.max(wait, oldest + this.policy.client_window_ms - t);
    }
    return Math.max(0, Math.ceil(wait));
  }

  /** Record a failed attempt; returns the lockout it started (ms), or 0. */
  failure(username: string, client: string): number {
    const t = this.now();
    let c = this.clientWindow(client, t);
    if (!c) {
      c = { times: [], head: 0 };
      this.clients.set(client, c);
    }
    c.times.push(t);
    if (c.times.length - c.head > this.policy.client_max_failures) c.head = c.times.length - this.policy.client_max_failures;
    compact(c);
    const u = this.current(username, t) ?? { failures: 0, lockouts: 0, locked_until: 0, last_failure: 0 };
    u.failures++;
    u.last_failure = t;
    let started = 0;
    if (u.failures >= this.policy.max_failures) {
      started = Math.min(this.policy.lockout_max_ms, this.policy.lockout_ms * 2 ** Math.min(u.lockouts, 30));
      u.lockouts++;
      u.failures = 0;
      u.locked_until = t + started;
    }
    this.users.delete(username);
    this.users.set(username, u); // most recently failed last: eviction takes the oldest first
    this.evict();
    this.onChange();
    return started;
  }

  /** A verified secret: the name's tally is cleared. The client window is not (a client that guesses right once keeps its history). */
  success(username: string): void {
    if (this.users.delete(username)) this.onChange();
  }

  tally(username: string): UserTally | undefined {
    return this.current(username, this.now());
  }

  snapshot(): ThrottleSnapshot {
    const t = this.now();
    const users: Record<string, UserTally> = {};
    for (const [name, u] of this.users) if (!this.stale(u, t)) users[name] = { ...u };
    return { version: 1, users };
  }

  /** Load persisted tallies (ignores anything malformed). */
  restore(data: unknown): void {
    if (!data || typeof data !== 'object' || (data as { version?: unknown }).version !== 1) return;
    const users = (data as { users?: unknown }).users;
    if (!users || typeof users !== 'object') return;
    const t = this.now();
    for (const [name, v] of Object.entries(users as Record<string, unknown>)) {
      if (typeof name !== 'string' || name.length > 256 || !v || typeof v !== 'object') continue;
      const r = v as Record<string, unknown>;
      const num = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) && (r[k] as number) >= 0 ? (r[k] as number) : 0);
      const u: UserTally = { failures: Math.floor(num('failures')), lockouts: Math.floor(num('lockouts')), locked_until: num('locked_until'), last_failure: num('last_failure') };
      if (u.last_failure > 0 && (u.failures > 0 || u.lockouts > 0) && !this.stale(u, t)) this.users.set(name, u);
    }
    this.evict();
  }

  private current(username: string, t: number): UserTally | undefined {
    const u = this.users.get(username);
    if (u && this.stale(u, t)) {
      this.users.delete(username);
      return undefined;
    }
    return u;
  }

  private stale(u: UserTally, t: number): boolean {
    return u.locked_until <= t && t - u.last_failure >= this.policy.reset_after_ms;
  }

  /** The client's window with failures older than client_window_ms dropped; undefined (and forgotten) when empty. */
  private clientWindow(client: string, t: number): ClientWindow | undefined {
    const c = this.clients.get(client);
    if (!c) return undefined;
    const from = t - this.policy.client_window_ms;
    // Times are appended in clock order; should the wall clock step back, an entry may stay a little
    // longer than its window (the limit errs on the strict side), never shorter.
    while (c.head < c.times.length && c.times[c.head]! <= from) c.head++;
    if (c.head === c.times.length) {
      this.clients.delete(client);
      return undefined;
    }
    compact(c);
    return c;
  }

  /** Bound memory: a flood of random names must not grow the table without limit. Locked names go last. */
  private evict(): void {
    const excess = this.users.size - this.policy.max_tracked_users;
    if (excess <= 0) return;
    const t = this.now();
    let removed = 0;
    for (const [name, u] of this.users) {
      if (removed >= excess) break;
      if (u.locked_until > t) continue;
      this.users.delete(name);
      removed++;
    }
    for (const name of this.users.keys()) {
      if (removed >= excess) break;
      this.users.delete(name);
      removed++;
    }
    if (this.clients.size > this.policy.max_tracked_users) {
      for (const k of [...this.clients.keys()].slice(0, this.clients.size - this.policy.max_tracked_users)) this.clients.delete(k);
    }
  }
}

/** Drop consumed entries once they are the larger part of the array (amortised O(1)). */
function compact(c: ClientWindow): void {
  if (c.head > 64 && c.head * 2 > c.times.length) {
    c.times = c.times.slice(c.head);
    c.head = 0;
  }
}
