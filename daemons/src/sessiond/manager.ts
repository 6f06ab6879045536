import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import path from 'node:path';
import { ProtocolError } from '@redbear/protocol';
import type { Logger, Root } from '../runtime/index.js';
import { isSecureFsError } from '../lib/securefs/index.js';
import type { SessiondConfig } from './config.js';
import { closeHome, endHomeMount, openHome, parkHome, releaseParkedMount, type HomeOptions, type OpenHome } from './home.js';
import { spawnLauncher, type LeaderExit, type PendingLauncher } from './launcher.js';
import type { AuthdPort, KeystorePort } from './ports.js';
import { isAlive, signalLeader } from './proc.js';
import { Seat, toRecord, transition, type SessionData } from './session.js';
import { loadState, saveState } from './state-file.js';
import { switchVt } from './vt.js';

export type EndReason = 'exited' | 'crashed' | 'logout' | 'failed' | 'lost';

export interface ManagerDeps {
  root: Root;
  config: SessiondConfig;
  log: Logger;
  authd: AuthdPort;
  keystore: KeystorePort;
  /** Push an event to subscribers (ProtocolServer.broadcast on both sockets). */
  emit(event: string, payload: Record<string, unknown>): void;
  now?: () => number;
}

/** Written by the validation session into XDG_RUNTIME_DIR; checked before the success marker is written. */
export const VALIDATION_PROOF = 'redbear-validation.json';

function toWireError(e: unknown): Error {
  if (e instanceof ProtocolError) return e;
  if (isSecureFsError(e)) {
    const code = e.code === 'integrity' || e.code === 'rollback' ? 'integrity' : e.code === 'locked' ? 'keystore_locked' : 'internal';
    return new ProtocolError(code, `home: ${e.message}`.slice(0, 1000));
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Sessions of one seat: login orchestration with unwinding, leader watching, lock/unlock,
 * fast user switching, idle lock, restart adoption. Every mutation runs through one queue,
 * so concurrent requests apply one after another against a consistent seat.
 */
export class SessionManager {
  readonly seat: Seat;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly homes = new Map<string, OpenHome>();
  private readonly pollers = new Map<string, NodeJS.Timeout>();
  private readonly idle = new Map<string, NodeJS.Timeout>();
  private readonly ended = new Map<string, Array<(code: number | null) => void>>();
  private readonly logoutRequested = new Set<string>();
  private closing = false;
  private readonly now: () => number;

  constructor(private readonly d: ManagerDeps) {
    this.seat = new Seat(d.config.seat);
    this.now = d.now ?? (() => Date.now());
  }

  private get cfg(): SessiondConfig {
    return this.d.config;
  }

  /** Run fn after every earlier mutation finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private stateDir(): string {
    return this.d.root.path(this.cfg.state_dir);
  }

  private persist(): Promise<void> {
    return saveState(this.stateDir(), this.seat.all().filter((s) => s.state !== 'closed'));
  }

  private runtimeDir(uid: number): string {
    return this.d.root.path(`/run/user/${uid}`);
  }

  private homeDir(uid: number): string {
    return this.d.root.path(`${this.cfg.home.base}/${uid}`);
  }

  private homeUri(uid: number): string {
    return `${this.cfg.home.uri_prefix}/${uid}/`;
  }

  private homeOptions(): HomeOptions {
    const h = this.cfg.home;
    return {
      mount: {
        mode: h.mount,
        passwdFile: this.d.root.path('/etc/passwd'),
        resolve: (p) => this.d.root.path(p),
        lockedWaitMs: h.locked_wait_ms,
        maxFileBuffer: h.write_buffer_mib * 1024 * 1024,
      },
      skel: h.skel ? this.d.root.path(h.skel) : null,
      log: this.d.log,
    };
  }

  private emitSession(s: SessionData): void {
    this.d.emit('session', { session: toRecord(s) });
  }

  private emitHome(s: SessionData): void {
    this.d.emit('home', { uid: s.uid, uri: s.home_uri, mount: s.home_mount, persistent: s.home_persistent, open: s.home_open });
  }

  // ---------------------------------------------------------------- queries

  list(): SessionData[] {
    return this.seat.open();
  }

  get(sid: string): SessionData {
    return this.seat.require(sid);
  }

  current(): SessionData | undefined {
    return this.seat.active();
  }

  // ---------------------------------------------------------------- start / stop

  /** Re-adopt live sessions from the state file (locked ones stay locked) and clean up dead ones. */
  async start(): Promise<void> {
    const { sessions, problem } = await loadState(this.stateDir());
    if (problem) this.d.log.warn('session state', { problem });
    for (const s of sessions) {
      const alive = s.leader_pid !== null && isAlive(s.leader_pid, s.leader_start);
      const adoptable = alive && (s.state === 'active' || s.state === 'locked');
      let fits = adoptable;
      if (adoptable) {
        try {
          if (s.state === 'active' && this.seat.active()) s.state = 'locked';
          this.seat.add(s);
        } catch {
          fits = false;
        }
      }
      if (!fits) {
        this.d.log.info('cleaning up a session left behind', { sid: s.sid, uid: s.uid, state: s.state, leader_alive: alive });
        if (alive && s.leader_pid !== null) signalLeader(s.leader_pid, 'SIGKILL');
        await this.releaseResources(s, true);
        continue;
      }
      this.d.log.info('re-adopting a session', { sid: s.sid, uid: s.uid, state: s.state });
      s.home_open = false;
      s.home_mount = null; // the previous sessiond unmounted it (or it died: the stale mount is replaced on reopen)
      if (s.state === 'locked') {
        await this.lockKeystore(s);
        await this.parkReadopted(s);
      } else {
        try {
          await this.openUserHome(s);
        } catch (e) {
          this.d.log.warn('cannot reopen the home of a re-adopted session: locking it', { sid: s.sid, error: (e as Error).message });
          transition(s, 'lock', this.now());
          await this.lockKeystore(s);
          await this.parkReadopted(s);
        }
        if (s.state === 'active') this.armIdle(s);
      }
      this.pollLeader(s);
    }
    this.seat.check();
    await this.persist();
    this.refillSpare();
  }

  /**
   * A locked session re-adopted after a restart whose encrypted home was mounted: that mount
   * died with the previous sessiond. Park a fresh one there now (requests wait for the unlock,
   * then EACCES; never ENOTCONN). A session without an encrypted home (no keystore session:
   * it runs on the plain home directory) gets no mount.
   */
  private async parkReadopted(s: SessionData): Promise<void> {
    if (!s.keystore_token || !s.store_id) return;
    s.home_mount = await parkHome(this.homeDir(s.uid), { uid: s.uid, gid: s.gid }, this.homeOptions()).catch((e: Error) => {
      this.d.log.warn('cannot park the home of a re-adopted locked session', { sid: s.sid, error: e.message });
      return null;
    });
  }

  /** Stop timers and close homes; sessions keep running and are re-adopted by the next start. */
  async close(): Promise<void> {
    this.closing = true;
    await this.serial(async () => {
      await this.spare?.abort();
      this.spare = null;
      for (const t of [...this.pollers.values(), ...this.idle.values()]) clearTimeout(t);
      this.pollers.clear();
      this.idle.clear();
      for (const [sid, h] of this.homes) {
        await closeHome(h);
        this.homes.delete(sid);
      }
      await releaseParkedMount(); // mounts of locked sessions
      this.d.keystore.close();
    });
  }

  // ---------------------------------------------------------------- login

  /**
   * The bundled launcher is kept started ahead (one spare, idle on its stdin, no session
   * state, exits by itself when sessiond goes away): a login then skips Node's startup. The
   * spare starts at the lowest CPU priority (it is background work: it must not slow what
   * runs meanwhile) and is put back to sessiond's priority before it gets a spec — or not used.
   * A configured launcher (`session.launcher`) is always started at login time, and so is the
   * bundled one with `session.prewarm_launcher = false` (no idle ~40 MB process).
   */
  private spare: PendingLauncher | null = null;

  private get prewarm(): boolean {
    return this.cfg.session.prewarm_launcher && this.cfg.session.launcher.length === 0;
  }

  private refillSpare(): void {
    if (this.closing || !this.prewarm || (this.spare && !this.spare.gone)) return;
    try {
      const spare = spawnLauncher([], this.d.root.dir);
      this.spare = spare;
      if (spare.pid !== undefined) {
        try {
          setPriority(spare.pid, 19);
        } catch {
          // stays at normal priority
        }
      }
    } catch (e) {
      this.spare = null;
      this.d.log.warn('cannot start a spare session launcher', { error: (e as Error).message });
    }
  }

  private takeLauncher(): PendingLauncher {
    const spare = this.spare;
    this.spare = null;
    if (spare && !spare.gone && spare.pid !== undefined && this.prewarm) {
      try {
        const normal = getPriority(); // sessiond's own: what a launcher started now would inherit
        setPriority(spare.pid, normal);
        if (getPriority(spare.pid) === normal) return spare;
      } catch {
        // not usable at normal priority: start a fresh one
      }
    }
    if (spare) void spare.abort();
    return spawnLauncher(this.cfg.session.launcher, this.d.root.dir);
  }

  async login(approval: string, vt: number): Promise<SessionData> {
    return this.serial(async () => {
      if (this.closing) throw new ProtocolError('unavailable', 'sessiond is stopping');
      // Where a login's time goes (logged with "session started").
      const timing: Record<string, number> = {};
      let mark = performance.now();
      const lap = (name: string) => {
        const t = performance.now();
        timing[name] = Math.round((t - mark) * 10) / 10;
        mark = t;
      };
      const acct = await this.d.authd.consume(approval, vt, 'login');
      lap('consume_ms');
      if (this.seat.ofUser(acct.uid)) throw new ProtocolError('exists', `${acct.username} already has a session: unlock or activate it`);
      if (this.seat.onVt(vt)) throw new ProtocolError('conflict', `VT ${vt} is in use by another session`);
      if (!acct.keystore_grant && this.cfg.keystore.require) throw new ProtocolError('keystore_locked', 'no keystore grant came with the approval');
      const prev = this.seat.active();
      if (prev) await this.doLock(prev, 'switch');
      const t = this.now();
      const s: SessionData = {
        // Hex, so a sid never starts with '-' and never reads as an option on a command line.
        sid: 's' + randomBytes(8).toString('hex'),
        uid: acct.uid,
        gid: acct.gid,
        username: acct.username,
        vt,
        seat: this.seat.name,
        state: 'opening',
        leader_pid: null,
        leader_start: null,
        home_uri: this.homeUri(acct.uid),
        home_mount: null,
        home_persistent: false,
        home_open: false,
        created_at_ms: t,
        updated_at_ms: t,
        locked_at_ms: null,
        keystore_token: null,
        store_id: null,
        validation: false,
      };
      this.seat.add(s);
      this.seat.check();
      let leaderPid: number | null = null;
      let launcher: PendingLauncher | null = null;
      try {
        await this.persist();
        this.emitSession(s);
        lap('persist_ms');
        if (acct.keystore_grant) {
          const ks = await this.d.keystore.openSession(acct.keystore_grant, s.sid);
          s.keystore_token = ks.token;
          s.store_id = ks.storeId;
          lap('keystore_ms');
          await this.persist();
          await this.openUserHome(s);
          lap('home_ms');
        }
        s.validation = existsSync(this.d.root.path(this.cfg.validation.request));
        // The launcher (the spare started ahead, else one started now) waits for its spec on
        // stdin; its pid is persisted before it gets the spec.
        launcher = this.takeLauncher();
        if (launcher.pid !== undefined) {
          leaderPid = launcher.pid;
          s.leader_pid = launcher.pid;
          s.leader_start = launcher.startTime;
          await this.persist();
        }
        lap('spawn_ms');
        const leader = await launcher.start(
          {
            sid: s.sid,
            uid: s.uid,
            gid: s.gid,
            username: s.username,
            home: this.d.root.path(acct.home),
            shell: acct.shell,
            vt,
            seat: this.seat.name,
            group_file: this.d.root.path('/etc/group'),
            runtime_dir: this.runtimeDir(s.uid),
            log_file: path.join(this.d.root.path(this.cfg.session.log_dir), `${s.username}-${s.sid}.log`),
            command: this.cfg.session.command,
            dbus_run_session: this.cfg.session.dbus_run_session ? this.cfg.session.dbus_run_session : null,
            validation: s.validation,
            validation_timeout_ms: this.cfg.validation.timeout_ms,
          },
          this.cfg.session.start_timeout_ms,
        );
        lap('launch_ms');
        leaderPid = leader.pid;
        s.leader_pid = leader.pid;
        s.leader_start = leader.start;
        transition(s, 'started', this.now());
        this.seat.check();
        await this.persist();
        lap('persist_started_ms');
        void leader.exited.then((x) => this.serial(() => this.onLeaderExit(s.sid, x, false)));
      } catch (e) {
        this.d.log.warn('login failed: unwinding', { sid: s.sid, uid: s.uid, error: (e as Error).message });
        if (leaderPid !== null) signalLeader(leaderPid, 'SIGKILL');
        await launcher?.abort();
        transition(s, 'fail', this.now());
        await this.teardown(s, { code: null, signal: null }, 'failed');
        this.refillSpare();
        throw toWireError(e);
      }
      this.d.log.info('session started', { sid: s.sid, uid: s.uid, vt, leader: s.leader_pid, validation: s.validation, timing });
      this.refillSpare();
      this.emitSession(s);
      this.armIdle(s);
      await switchVt(this.cfg.vt.switch_command, vt, this.d.log);
      return s;
    });
  }

  // ---------------------------------------------------------------- home and keystore

  private async openUserHome(s: SessionData): Promise<void> {
    if (!s.keystore_token || !s.store_id) return;
    const keys = this.d.keystore.keyProvider(s.keystore_token, s.store_id);
    const home = await openHome(this.homeDir(s.uid), keys, { uid: s.uid, gid: s.gid }, this.homeOptions());
    this.homes.set(s.sid, home);
    s.home_open = true;
    s.home_mount = home.mount;
    s.home_persistent = home.persistent;
    this.emitHome(s);
  }

  /** lock: the mount stays (parked, requests wait for the unlock); end: unmounted. */
  private async closeUserHome(s: SessionData, how: 'lock' | 'end' = 'end'): Promise<void> {
    const h = this.homes.get(s.sid);
    this.homes.delete(s.sid);
    await closeHome(h, how);
    if (how === 'end') {
      await endHomeMount(s.uid, this.homeOptions());
      s.home_mount = null;
    }
    if (s.home_open) {
      s.home_open = false;
      this.emitHome(s);
    }
  }

  /** Lock policy: the session's keystore session is locked; if that fails the whole user domain is. */
  private async lockKeystore(s: SessionData): Promise<void> {
    if (s.keystore_token) {
      try {
        await this.d.keystore.lockSession(s.keystore_token);
        return;
      } catch (e) {
        this.d.log.warn('keystore lock_session failed: locking the user domain', { sid: s.sid, error: (e as Error).message });
      }
      await this.d.keystore.lockUser(s.uid).catch((e: Error) => this.d.log.error('keystore lock_user failed', { uid: s.uid, error: e.message }));
    }
  }

  /** Everything a session holds besides its record: home, keystore session, runtime dir. */
  private async releaseResources(s: SessionData, userGone: boolean): Promise<void> {
    await this.closeUserHome(s);
    if (s.keystore_token) {
      await this.d.keystore.closeSession(s.keystore_token).catch((e: Error) => this.d.log.warn('keystore close_session failed', { sid: s.sid, error: e.message }));
      await this.d.keystore.lockUser(s.uid).catch((e: Error) => this.d.log.warn('keystore lock_user failed', { uid: s.uid, error: e.message }));
      s.keystore_token = null;
    }
    if (userGone) await fs.rm(this.runtimeDir(s.uid), { recursive: true, force: true }).catch(() => undefined);
  }

  // ---------------------------------------------------------------- end of a session

  private pollLeader(s: SessionData): void {
    const pid = s.leader_pid;
    if (pid === null) return;
    const tick = () => {
      if (isAlive(pid, s.leader_start)) {
        this.pollers.set(s.sid, setTimeout(tick, this.cfg.session.leader_poll_ms).unref());
        return;
      }
      this.pollers.delete(s.sid);
      void this.serial(() => this.onLeaderExit(s.sid, { code: null, signal: null }, true));
    };
    this.pollers.set(s.sid, setTimeout(tick, this.cfg.session.leader_poll_ms).unref());
  }

  private async onLeaderExit(sid: string, exit: LeaderExit, lost: boolean): Promise<void> {
    const s = this.seat.get(sid);
    if (!s || s.state === 'closed' || s.state === 'opening') return;
    const reason: EndReason = this.logoutRequested.has(sid) ? 'logout' : lost ? 'lost' : exit.code === 0 ? 'exited' : 'crashed';
    if (s.state !== 'closing') transition(s, 'end', this.now());
    await this.persist();
    this.emitSession(s);
    await this.teardown(s, exit, reason);
  }

  /** closing → closed: release everything, drop the record, tell subscribers. */
  private async teardown(s: SessionData, exit: LeaderExit, reason: EndReason): Promise<void> {
    const t = this.idle.get(s.sid);
    if (t) clearTimeout(t);
    this.idle.delete(s.sid);
    const p = this.pollers.get(s.sid);
    if (p) clearTimeout(p);
    this.pollers.delete(s.sid);
    if (s.validation && reason !== 'failed') await this.validationMarker(s, exit);
    const others = this.seat.open().some((o) => o.uid === s.uid && o.sid !== s.sid);
    await this.releaseResources(s, !others);
    transition(s, 'finish', this.now());
    this.seat.remove(s.sid);
    this.logoutRequested.delete(s.sid);
    await this.persist();
    this.emitSession(s);
    if (reason !== 'failed') {
      // The console is back on the greeter's VT before anyone is told the session ended, so a
      // subscriber (greeterd) that reacts by showing the greeter shows it on the visible VT.
      if (!this.seat.active() && !this.closing) await switchVt(this.cfg.vt.switch_command, this.cfg.vt.greeter_vt, this.d.log);
      this.d.emit('session_ended', { sid: s.sid, uid: s.uid, username: s.username, vt: s.vt, exit_code: exit.code, reason });
      this.d.log.info('session ended', { sid: s.sid, uid: s.uid, reason, exit_code: exit.code, signal: exit.signal });
    }
    for (const w of this.ended.get(s.sid) ?? []) w(exit.code);
    this.ended.delete(s.sid);
  }

  /** The validation-only session proved itself (proof file + exit 0): write the success marker. */
  private async validationMarker(s: SessionData, exit: LeaderExit): Promise<void> {
    const marker = this.d.root.path(this.cfg.validation.success);
    try {
      const proof = JSON.parse(await fs.readFile(path.join(this.runtimeDir(s.uid), VALIDATION_PROOF), 'utf8')) as { uid?: unknown; sid?: unknown };
      if (exit.code !== 0 || proof.uid !== s.uid || proof.sid !== s.sid) throw new Error(`exit ${exit.code}, proof for ${String(proof.sid)}`);
      await fs.writeFile(marker, JSON.stringify({ ok: true, sid: s.sid, uid: s.uid, username: s.username, at_ms: this.now() }) + '\n', { mode: 0o644 });
      this.d.log.info('validation session succeeded', { sid: s.sid, marker });
    } catch (e) {
      this.d.log.warn('validation session failed', { sid: s.sid, error: (e as Error).message });
    }
  }

  // ---------------------------------------------------------------- lock / unlock

  private async doLock(s: SessionData, why: string): Promise<void> {
    transition(s, 'lock', this.now());
    this.seat.check();
    await this.persist();
    const t = this.idle.get(s.sid);
    if (t) clearTimeout(t);
    this.idle.delete(s.sid);
    // Subscribers first: greeterd puts the lock screen up at once, not after the home's pending
    // writes are committed (which can take a while). An unlock meanwhile waits in the queue.
    this.emitSession(s);
    this.d.emit('lock', { session: toRecord(s) });
    if (this.cfg.lock.policy === 'lock_domain') {
      await this.closeUserHome(s, 'lock');
      await this.lockKeystore(s);
      await this.persist();
    }
    this.d.log.info('session locked', { sid: s.sid, uid: s.uid, why });
  }

  lock(sid: string): Promise<SessionData> {
    return this.serial(async () => {
      const s = this.seat.require(sid);
      await this.doLock(s, 'request');
      return s;
    });
  }

  lockAll(why = 'request'): Promise<SessionData[]> {
    return this.serial(async () => {
      const out: SessionData[] = [];
      for (const s of this.seat.open()) {
        if (s.state !== 'active') continue;
        await this.doLock(s, why);
        out.push(s);
      }
      return out;
    });
  }

  /** Unlock (activate=false: only when no other session is active) or switch back to (activate=true) a locked session. */
  unlock(sid: string, approval: string, activate: boolean): Promise<SessionData> {
    return this.serial(async () => {
      const s = this.seat.require(sid);
      if (activate && s.state === 'active') return s;
      if (s.state !== 'locked') throw new ProtocolError('invalid_state', `session is ${s.state}, not locked`);
      const other = this.seat.active();
      if (other && !activate) throw new ProtocolError('invalid_state', 'another session is active: use activate');
      const acct = await this.d.authd.consume(approval, s.vt, 'unlock');
      if (acct.uid !== s.uid) throw new ProtocolError('approval_invalid', "the approval is not for this session's user");
      if (acct.session_id !== null && acct.session_id !== s.sid) throw new ProtocolError('approval_invalid', 'the approval is for another session');
      if (other) await this.doLock(other, 'switch');
      if (!s.home_open) {
        if (acct.keystore_grant) {
          // Re-opening the same keystore session id unlocks it (and supersedes the old token).
          const ks = await this.d.keystore.openSession(acct.keystore_grant, s.sid);
          s.keystore_token = ks.token;
          s.store_id = ks.storeId;
          await this.persist();
          try {
            await this.openUserHome(s);
          } catch (e) {
            await this.lockKeystore(s);
            throw toWireError(e);
          }
        } else if (s.keystore_token || this.cfg.keystore.require) {
          throw new ProtocolError('keystore_locked', 'the approval carried no keystore grant: the home cannot be reopened');
        } else {
          // A session on the plain home directory: nothing may stay mounted over it.
          await releaseParkedMount(s.uid);
          s.home_mount = null;
        }
      }
      transition(s, 'unlock', this.now());
      this.seat.check();
      await this.persist();
      this.d.log.info('session unlocked', { sid: s.sid, uid: s.uid, activate });
      this.emitSession(s);
      this.armIdle(s);
      await switchVt(this.cfg.vt.switch_command, s.vt, this.d.log);
      return s;
    });
  }

  // ---------------------------------------------------------------- logout

  async logout(sid: string): Promise<number | null> {
    const done = await this.serial(async () => {
      const s = this.seat.require(sid);
      if (s.state === 'opening') throw new ProtocolError('invalid_state', 'session is still opening');
      const p = new Promise<number | null>((resolve) => {
        const list = this.ended.get(sid) ?? [];
        list.push(resolve);
        this.ended.set(sid, list);
      });
      this.logoutRequested.add(sid);
      if (s.state !== 'closing') {
        transition(s, 'end', this.now());
        await this.persist();
        this.emitSession(s);
      }
      if (s.leader_pid === null || !isAlive(s.leader_pid, s.leader_start)) {
        await this.teardown(s, { code: null, signal: null }, 'logout');
      } else {
        signalLeader(s.leader_pid, 'SIGTERM');
      }
      return { p, pid: s.leader_pid, start: s.leader_start };
    });
    const grace = this.cfg.session.logout_grace_ms;
    const kill = setTimeout(() => {
      if (done.pid !== null && isAlive(done.pid, done.start)) signalLeader(done.pid, 'SIGKILL');
    }, grace);
    try {
      return await done.p;
    } finally {
      clearTimeout(kill);
    }
  }

  // ---------------------------------------------------------------- idle and sleep

  private armIdle(s: SessionData): void {
    const old = this.idle.get(s.sid);
    if (old) clearTimeout(old);
    this.idle.delete(s.sid);
    const secs = this.cfg.lock.idle_timeout_s;
    if (secs <= 0 || s.state !== 'active') return;
    const timer = setTimeout(() => {
      this.idle.delete(s.sid);
      void this.serial(async () => {
        if (this.seat.get(s.sid)?.state === 'active') await this.doLock(s, 'idle');
      }).catch((e: Error) => this.d.log.error('idle lock failed', { sid: s.sid, error: e.message }));
    }, secs * 1000);
    timer.unref();
    this.idle.set(s.sid, timer);
  }

  reportActivity(sid: string | undefined): void {
    const s = sid === undefined ? this.seat.active() : this.seat.require(sid);
    if (s && s.state === 'active') this.armIdle(s);
  }

  prepareSleep(): Promise<SessionData[]> {
    return this.lockAll('sleep');
  }
}
