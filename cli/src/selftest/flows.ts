import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ProtocolError, type Message } from '@redbear/protocol';
import { ProtocolClient } from '@redbear/protocol/node';
import { detectPersistence } from '@redbear/daemons/lib/securefs';
import { alive, descendants, filesContaining, listFiles, poll, procInfo, runsAs, sleep } from './observe.js';
import { RECORD_FILE } from './stack.js';

/**
 * The flows of redbear-selftest (TASK-0224 item 6). Each one performs the real requests and then
 * checks the outcome by observations that do not come from the reply: the other daemons'
 * records, events, keystored's status, /proc, files on disk. A flow returns normally only when
 * every observation matched; anything else throws Fail and its marker is never printed.
 */

export class Fail extends Error {}

export type Iface = 'greeter' | 'auth' | 'keystore' | 'session';

export const SOCKETS: Record<Iface | 'query', string> = {
  greeter: '/run/redbear-greeterd.sock',
  auth: '/run/redbear-authd.sock',
  keystore: '/run/redbear-keystored.sock',
  session: '/run/redbear-sessiond.sock',
  query: '/run/redbear-sessiond-query.sock',
};

export interface SessionRec {
  sid: string;
  uid: number;
  username: string;
  vt: number;
  state: string;
  leader_pid: number | null;
  home_uri: string;
  home_mount: string | null;
  home_persistent: boolean;
}

export interface TestUser {
  username: string;
  password: string;
  uid: number;
  sid?: string;
  vt?: number;
}

/** Events received on a subscribed connection, searchable after the fact. */
export class EventLog {
  readonly events: Message[] = [];
  constructor(readonly client: ProtocolClient) {
    client.on('event', (m: Message) => this.events.push(m));
  }
  get mark(): number {
    return this.events.length;
  }
  async waitFor(pred: (e: Message) => boolean, timeoutMs: number, since = 0): Promise<Message | null> {
    return poll(timeoutMs, () => this.events.slice(since).find(pred), 50);
  }
}

export interface Ctx {
  root: string;
  /** Map a system path into the root. */
  p(abs: string): string;
  /** The session command is the recording one (--start-stack): its record file is checked too. */
  recording: boolean;
  detail(flow: string, text: string): void;
  timeoutMs: number;
  greeterEvents: EventLog;
  sessionEvents: EventLog;
  user1?: TestUser;
  user2?: TestUser;
  created: { users: string[]; sids: string[] };
}

// ---------- plumbing ----------

export async function connect(ctx: Pick<Ctx, 'p'>, iface: Iface | 'query', timeoutMs = 30_000): Promise<ProtocolClient> {
  const socketPath = ctx.p(SOCKETS[iface]);
  try {
    return await ProtocolClient.connect({ iface: iface === 'query' ? 'session' : iface, socketPath, clientName: 'redbear-selftest', timeoutMs });
  } catch (e) {
    throw new Fail(`cannot reach ${SOCKETS[iface]}: ${(e as Error).message}`);
  }
}

/** One request on a fresh connection (like nx-session does). */
async function req(ctx: Ctx, iface: Iface | 'query', msg: Record<string, unknown> & { type: string }, timeoutMs = ctx.timeoutMs): Promise<Message> {
  const c = await connect(ctx, iface, timeoutMs);
  try {
    return await c.request(msg, timeoutMs);
  } finally {
    c.close();
  }
}

/** A request that must be refused; returns the error code. */
async function refused(ctx: Ctx, iface: Iface, msg: Record<string, unknown> & { type: string }, what: string): Promise<string> {
  let reply: Message;
  try {
    reply = await req(ctx, iface, msg);
  } catch (e) {
    if (e instanceof Fail) throw e;
    if (e instanceof ProtocolError) {
      if (e.code === 'timeout' || e.code === 'unavailable') throw new Fail(`${what}: no answer (${e.code}: ${e.message})`);
      return e.code;
    }
    throw e;
  }
  throw new Fail(`${what} was accepted (${String(reply.type)})`);
}

const why = (e: unknown) => (e instanceof ProtocolError ? `${e.code}: ${e.message}` : (e as Error).message);

/** A request whose failure fails the flow with a readable reason. */
async function must(ctx: Ctx, iface: Iface | 'query', msg: Record<string, unknown> & { type: string }, what: string, timeoutMs?: number): Promise<Message> {
  try {
    return await req(ctx, iface, msg, timeoutMs);
  } catch (e) {
    if (e instanceof Fail) throw e;
    throw new Fail(`${what} refused (${why(e)})`);
  }
}

async function getSession(ctx: Ctx, sid: string): Promise<SessionRec> {
  return (await must(ctx, 'query', { type: 'get_session', sid }, `sessiond get_session ${sid}`)).session as SessionRec;
}

async function currentSession(ctx: Ctx): Promise<SessionRec | null> {
  return (await must(ctx, 'query', { type: 'current_session' }, 'sessiond current_session')).session as SessionRec | null;
}

interface KeystoreStatus {
  uid: number;
  exists: boolean;
  unlocked: boolean;
  open_sessions: number;
}
async function keystoreStatus(ctx: Ctx, uid: number): Promise<KeystoreStatus> {
  return (await must(ctx, 'keystore', { type: 'status', uid }, `keystored status ${uid}`)).status as KeystoreStatus;
}

async function expectKeystore(ctx: Ctx, uid: number, unlocked: boolean, when: string): Promise<void> {
  const ks = await keystoreStatus(ctx, uid);
  if (!ks.exists) throw new Fail(`uid ${uid} has no keystore domain (keystored status: exists=false), so its lock state cannot be verified`);
  if (ks.unlocked !== unlocked) throw new Fail(`${when}: keystored reports the domain of uid ${uid} ${ks.unlocked ? 'unlocked' : 'locked'}`);
}

async function expectState(ctx: Ctx, sid: string, state: string, when: string): Promise<SessionRec> {
  const s = await getSession(ctx, sid);
  if (s.state !== state) throw new Fail(`${when}: session ${sid} is ${s.state}, expected ${state}`);
  return s;
}

async function greeterHello(ctx: Ctx): Promise<Message> {
  const c = await connect(ctx, 'greeter');
  c.close();
  return c.hello!;
}

export function secret(): string {
  return `St-${randomBytes(15).toString('base64url')}`;
}

function freeVt(sessions: SessionRec[]): number {
  for (let vt = 4; vt <= 63; vt++) if (!sessions.some((s) => s.vt === vt)) return vt;
  throw new Fail('no free VT for a second session');
}

/**
 * The session is active, for that uid, its leader is alive and runs as the uid, and a process of
 * the session command runs under the leader as the uid (plus, with the recording command, the
 * record it wrote says so too). Returns a one-line description.
 */
async function verifyRunning(ctx: Ctx, sid: string, uid: number, when: string): Promise<string> {
  const s = await expectState(ctx, sid, 'active', when);
  if (s.uid !== uid) throw new Fail(`${when}: session ${sid} belongs to uid ${s.uid}, expected ${uid}`);
  const pid = s.leader_pid;
  if (pid === null) throw new Fail(`${when}: session ${sid} has no leader pid`);
  const leader = procInfo(pid);
  if (!leader || !alive(pid)) throw new Fail(`${when}: the session leader (pid ${pid}) is not running`);
  if (!runsAs(leader, uid)) throw new Fail(`${when}: the session leader (pid ${pid}) runs as uid ${leader.uids.join('/')}, expected ${uid}`);
  const child = await poll(10_000, () => descendants(pid).find((p) => runsAs(p, uid)));
  if (!child) throw new Fail(`${when}: no process of the session command runs under the leader (pid ${pid}) as uid ${uid}`);
  let record = '';
  if (ctx.recording) {
    const file = path.join(ctx.p(`/run/user/${uid}`), RECORD_FILE);
    const text = await poll(10_000, () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined) || undefined);
    if (!text) throw new Fail(`${when}: the recording session command wrote no record (${file})`);
    const recUid = Number(/uid=([0-9]+)/.exec(text)?.[1]);
    const recPid = Number(/pid=([0-9]+)/.exec(text)?.[1]);
    if (recUid !== uid) throw new Fail(`${when}: the session command recorded uid ${recUid}, expected ${uid}`);
    const recProc = procInfo(recPid);
    if (!recProc || !alive(recPid) || !runsAs(recProc, uid) || !descendants(pid).some((p) => p.pid === recPid)) {
      throw new Fail(`${when}: the recorded session process ${recPid} is not running as uid ${uid} under the leader`);
    }
    record = `, record: ${text.trim()}`;
  }
  // Still there a moment later (a command that exits at once would be gone by now).
  await sleep(300);
  const again = await getSession(ctx, sid);
  if (again.state !== 'active' || !alive(pid)) throw new Fail(`${when}: session ${sid} did not stay up (now ${again.state})`);
  return `session ${sid} active on VT ${s.vt}, leader pid ${pid} uid ${uid}, command pid ${child.pid} (${child.comm}) uid ${uid}${record}`;
}

// ---------- flows ----------

export async function oobeFlow(ctx: Ctx): Promise<void> {
  const F = 'oobe';
  const h = await poll(20_000, async () => {
    const m = await greeterHello(ctx);
    return m.state === 'starting' ? undefined : m;
  });
  if (!h) throw new Fail('greeterd stayed in state starting');
  if (h.first_boot !== true) throw new Fail('not a first boot: a human user already exists (run on a fresh system, or with --start-stack)');
  if (h.state !== 'first_boot') throw new Fail(`greeterd is ${String(h.state)}, not first_boot`);
  const suffix = randomBytes(2).toString('hex');
  const username = `selftest-a-${suffix}`;
  const password = secret();
  const created = await must(ctx, 'greeter', { type: 'create_first_user', full_name: 'Selftest First User', username, password }, 'greeterd create_first_user', 120_000);
  const uid = Number(created.uid);
  ctx.created.users.push(username);
  ctx.detail(F, `create_first_user: ${username} uid ${uid}, recovery key ${created.recovery_key ? 'issued' : 'NOT issued'}`);
  const since = ctx.sessionEvents.mark;
  const login = await must(ctx, 'greeter', { type: 'start_first_session', continue_token: created.continue_token }, 'greeterd start_first_session', 120_000);
  if (login.uid !== uid) throw new Fail(`start_first_session logged in uid ${String(login.uid)}, expected ${uid}`);

  // authd knows the user.
  const users = (await must(ctx, 'auth', { type: 'list_users' }, 'authd list_users')).users as Array<{ username: string; uid: number }>;
  const listed = users.find((u) => u.username === username);
  if (!listed || listed.uid !== uid) throw new Fail(`authd does not list ${username} with uid ${uid}`);
  // sessiond has an active session for the uid, and it is the current one.
  const cur = await currentSession(ctx);
  if (!cur) throw new Fail('sessiond has no active session after start_first_session');
  if (cur.uid !== uid || cur.username !== username) throw new Fail(`sessiond's active session is ${cur.username} (uid ${cur.uid}), expected ${username} (uid ${uid})`);
  ctx.created.sids.push(cur.sid);
  ctx.user1 = { username, password, uid, sid: cur.sid, vt: cur.vt };
  ctx.detail(F, await verifyRunning(ctx, cur.sid, uid, 'after login'));
  if (!(await ctx.sessionEvents.waitFor((e) => e.event === 'session' && (e.session as SessionRec).sid === cur.sid && (e.session as SessionRec).state === 'active', 5_000, since))) {
    throw new Fail(`sessiond sent no session event for ${cur.sid} becoming active`);
  }
  const g = await greeterHello(ctx);
  if (g.state !== 'session_running') throw new Fail(`greeterd is ${String(g.state)} after the login, expected session_running`);
  ctx.detail(F, `authd lists ${username} uid ${uid}; greeterd session_running`);
}

export async function lockFlow(ctx: Ctx): Promise<void> {
  const F = 'lock';
  const u = ctx.user1;
  if (!u?.sid) throw new Fail('needs the oobe create+login flow');
  const sid = u.sid;
  await expectState(ctx, sid, 'active', 'before lock');
  await expectKeystore(ctx, u.uid, true, 'before lock');
  const sMark = ctx.sessionEvents.mark;
  const gMark = ctx.greeterEvents.mark;
  await must(ctx, 'session', { type: 'lock', sid }, 'sessiond lock');

  await expectState(ctx, sid, 'locked', 'after lock');
  if (!(await ctx.sessionEvents.waitFor((e) => e.event === 'lock' && (e.session as SessionRec).sid === sid, 5_000, sMark))) {
    throw new Fail('sessiond sent no lock event');
  }
  if (!(await ctx.greeterEvents.waitFor((e) => e.event === 'lock' && (e.session as { session_id: string }).session_id === sid, 10_000, gMark))) {
    throw new Fail('greeterd sent no lock event (lock screen not shown)');
  }
  const g = await greeterHello(ctx);
  if (g.state !== 'locked' || (g.lock as { session_id?: string } | undefined)?.session_id !== sid) throw new Fail(`greeterd is ${String(g.state)}, not locked on ${sid}`);
  await expectKeystore(ctx, u.uid, false, 'after lock');
  ctx.detail(F, `locked ${sid}: sessiond state locked, lock events from sessiond and greeterd, keystore domain of uid ${u.uid} locked`);

  const wrong = await refused(ctx, 'greeter', { type: 'unlock', session_id: sid, secret: secret(), kind: 'password' }, 'unlock with a wrong secret');
  await expectState(ctx, sid, 'locked', 'after the wrong secret');
  await expectKeystore(ctx, u.uid, false, 'after the wrong secret');
  ctx.detail(F, `wrong secret refused (${wrong}); still locked`);

  const gMark2 = ctx.greeterEvents.mark;
  const r = await must(ctx, 'greeter', { type: 'unlock', session_id: sid, secret: u.password, kind: 'password' }, 'greeterd unlock with the right secret', 120_000);
  if (r.uid !== u.uid) throw new Fail(`unlock answered uid ${String(r.uid)}, expected ${u.uid}`);
  const running = await verifyRunning(ctx, sid, u.uid, 'after unlock');
  await expectKeystore(ctx, u.uid, true, 'after unlock');
  if (!(await ctx.greeterEvents.waitFor((e) => e.event === 'unlock' && e.session_id === sid, 5_000, gMark2))) throw new Fail('greeterd sent no unlock event');
  ctx.detail(F, `right secret unlocked: ${running}; keystore domain unlocked`);
}

export async function switchFlow(ctx: Ctx): Promise<void> {
  const F = 'switch';
  const u1 = ctx.user1;
  if (!u1?.sid) throw new Fail('needs the oobe create+login flow');
  const s1 = await getSession(ctx, u1.sid);
  if (s1.state !== 'active') throw new Fail(`the first session is ${s1.state}, not active (needs the lock+unlock flow)`);

  const username = `selftest-b-${randomBytes(2).toString('hex')}`;
  const password = secret();
  const added = await must(ctx, 'auth', { type: 'add_user', username, full_name: 'Selftest Second User', password, admin: false }, 'authd add_user', 120_000);
  const uid = Number(added.uid);
  ctx.created.users.push(username);
  const sessions = (await must(ctx, 'query', { type: 'list_sessions' }, 'sessiond list_sessions')).sessions as SessionRec[];
  const vt = freeVt(sessions);
  const a = await must(ctx, 'auth', { type: 'authenticate', username, password, vt, purpose: 'login' }, `authd authenticate ${username}`, 120_000);
  const created = (await must(ctx, 'session', { type: 'create_session', approval: a.approval, vt }, 'sessiond create_session', 120_000)).session as SessionRec;
  ctx.created.sids.push(created.sid);
  ctx.user2 = { username, password, uid, sid: created.sid, vt };

  const running2 = await verifyRunning(ctx, created.sid, uid, 'second login');
  await expectState(ctx, u1.sid, 'locked', 'while the second user is logged in');
  const cur = await currentSession(ctx);
  if (cur?.sid !== created.sid) throw new Fail(`sessiond's active session is ${cur?.sid ?? 'none'}, expected ${created.sid}`);
  await expectKeystore(ctx, u1.uid, false, 'while the second user is logged in');
  await expectKeystore(ctx, uid, true, 'second login');
  ctx.detail(F, `second user ${username} uid ${uid}: ${running2}; first session ${u1.sid} locked, its keystore domain locked`);

  const forged = await refused(ctx, 'session', { type: 'activate', sid: u1.sid, approval: `forged-${randomBytes(16).toString('hex')}` }, 'switching back with a forged approval');
  const wrong = await refused(
    ctx,
    'auth',
    { type: 'authenticate', username: u1.username, password: secret(), vt: s1.vt, purpose: 'unlock', session_id: u1.sid },
    "switching back with a wrong secret (authd)",
  );
  await expectState(ctx, u1.sid, 'locked', 'after the refused switches');
  await expectState(ctx, created.sid, 'active', 'after the refused switches');
  ctx.detail(F, `switch back without the first user's secret refused (forged approval: ${forged}; wrong secret: ${wrong})`);

  const b = await must(ctx, 'auth', { type: 'authenticate', username: u1.username, password: u1.password, vt: s1.vt, purpose: 'unlock', session_id: u1.sid }, `authd authenticate ${u1.username}`, 120_000);
  await must(ctx, 'session', { type: 'activate', sid: u1.sid, approval: b.approval }, 'sessiond activate', 120_000);
  const running1 = await verifyRunning(ctx, u1.sid, u1.uid, 'after switching back');
  await expectState(ctx, created.sid, 'locked', 'after switching back');
  const cur2 = await currentSession(ctx);
  if (cur2?.sid !== u1.sid) throw new Fail(`after switching back the active session is ${cur2?.sid ?? 'none'}, expected ${u1.sid}`);
  await expectKeystore(ctx, u1.uid, true, 'after switching back');
  await expectKeystore(ctx, uid, false, 'after switching back');
  ctx.detail(F, `switched back with the secret: ${running1}; second session locked`);
}

export type SecureFsOutcome = { status: 'ok' | 'skipped'; reason: string };

export async function securefsFlow(ctx: Ctx): Promise<SecureFsOutcome> {
  const F = 'securefs';
  const home = (await must(ctx, 'query', { type: 'current_home' }, 'sessiond current_home')).home as {
    uid: number;
    uri: string;
    mount: string | null;
    persistent: boolean;
    open: boolean;
  } | null;
  if (!home) return { status: 'skipped', reason: 'no active session, so no home to test' };
  const storeSys = home.uri.startsWith('state:') ? '/state' + home.uri.slice('state:'.length) : `/state/secure/home/${home.uid}/`;
  const storeDir = ctx.p(storeSys);
  const fs = await detectPersistence(storeDir).catch(() => ({ persistent: false, fsType: 'unknown', reason: 'mountinfo unreadable' }));
  const persistNote = home.persistent
    ? ''
    : `; state dir not persistent (${storeSys} is on ${fs.fsType ?? 'an unknown filesystem'}): the home is not claimed to persist`;
  ctx.detail(F, `home of uid ${home.uid}: ${home.uri} open=${home.open} mount=${home.mount ?? 'null'} persistent=${home.persistent} (filesystem: ${fs.fsType ?? '?'})`);
  if (home.persistent && !fs.persistent) throw new Fail(`sessiond claims the home persists but ${storeSys} is on ${fs.fsType ?? 'an unknown filesystem'} (${fs.reason ?? ''})`);
  if (!home.open) return { status: 'skipped', reason: `home not open: no SecureFS store is open for uid ${home.uid} (no keystore grant)${persistNote}` };
  if (home.mount === null) {
    return { status: 'skipped', reason: `home not mounted: SecureFS is open inside sessiond but no FUSE mount is configured${persistNote}` };
  }
  // A real mount: round trip through it, then look for the plaintext in the store's bytes.
  const mount = ctx.root !== '/' && !home.mount.startsWith(ctx.root + '/') ? ctx.p(home.mount) : home.mount;
  const token = randomBytes(24).toString('hex');
  const plaintext = `redbear-selftest securefs plaintext ${token}\n`;
  const file = path.join(mount, `.redbear-selftest-${randomBytes(4).toString('hex')}`);
  try {
    // As the home's owner when we can (a FUSE mount normally admits only its user).
    const back = await roundTrip(ctx, home.uid, file, plaintext);
    if (back !== plaintext) throw new Fail(`read back ${back.length} bytes that differ from the ${plaintext.length} written through ${home.mount}`);
    const files = await poll(5_000, async () => {
      const all = await listFiles(storeDir);
      return all.length > 0 ? all : undefined;
    });
    if (!files) throw new Fail(`no store files under ${storeSys} after the write`);
    const hits = await filesContaining(files, [Buffer.from(token), Buffer.from(token, 'hex'), Buffer.from(plaintext)]);
    if (hits.length) throw new Fail(`plaintext found on disk: ${hits.map((h) => path.relative(storeDir, h)).join(', ')}`);
    ctx.detail(F, `wrote and read back ${plaintext.length} bytes through ${home.mount}; ${files.length} store files under ${storeSys} contain no plaintext`);
  } finally {
    await rm(file, { force: true }).catch(() => undefined);
  }
  return { status: 'ok', reason: persistNote.replace(/^; /, '') };
}

/** The user's primary gid from the root's /etc/passwd. */
function gidOf(ctx: Ctx, uid: number): number | null {
  try {
    for (const line of readFileSync(ctx.p('/etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (Number(f[2]) === uid && f[3] !== undefined) return Number(f[3]);
    }
  } catch {
    /* fall through */
  }
  return null;
}

const ROUND_TRIP = `
const fs = require('node:fs');
const [file, data] = [process.argv[1], process.argv[2]];
const fd = fs.openSync(file, 'w', 0o600); fs.writeSync(fd, data); fs.fsyncSync(fd); fs.closeSync(fd);
process.stdout.write(fs.readFileSync(file, 'utf8'));`;

/** Write data to file and read it back, in a child running as uid when we are root. */
async function roundTrip(ctx: Ctx, uid: number, file: string, data: string): Promise<string> {
  const gid = gidOf(ctx, uid);
  const drop = process.getuid?.() === 0 && gid !== null ? { uid, gid } : {};
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', ROUND_TRIP, file, data], { ...drop, cwd: '/', timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Fail(`write/read through ${file} failed: ${(stderr || err.message).trim().split('\n').slice(-1)[0]}`));
      else resolve(stdout);
    });
  });
}

/** Log out the sessions and delete the users this run created (best effort). */
export async function cleanup(ctx: Ctx, deleteUsers: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const sid of [...ctx.created.sids].reverse()) {
    try {
      const s = await req(ctx, 'query', { type: 'get_session', sid });
      if ((s.session as SessionRec).state === 'closed') continue;
      await req(ctx, 'session', { type: 'logout', sid }, 60_000);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'not_found') continue;
      problems.push(`logout ${sid}: ${why(e)}`);
    }
  }
  if (deleteUsers) {
    for (const username of [...ctx.created.users].reverse()) {
      try {
        await req(ctx, 'auth', { type: 'delete_user', username, remove_home: true }, 60_000);
      } catch (e) {
        problems.push(`delete_user ${username}: ${why(e)}`);
      }
    }
  }
  return problems;
}
