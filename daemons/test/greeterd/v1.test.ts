import net from 'node:net';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { assertNoSecrets } from '../../../test/harness/index.js';
import { startStack, until, type Stack } from './fakes.js';

/** Red Bear's client behaviour: one connection per request, one JSON line each way, raw bytes. */
function rawV1(socketPath: string, msg: Record<string, unknown>, timeoutMs = 8_000): Promise<{ line: string; value: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('no reply'));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(t);
      s.destroy();
      const line = buf.slice(0, i);
      resolve({ line, value: JSON.parse(line) as Record<string, unknown> });
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.write(JSON.stringify(msg) + '\n');
  });
}

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

describe('greeterd v1 (Red Bear compatible)', () => {
  it('hello, invalid login, valid login with the validation session, back to greeter_ready', async () => {
    stack = await startStack({ users: { alice: { password: 'correct horse 42', uid: 1000 } } });
    const sock = stack.greeterd.socket;
    expect(statSync(sock).mode & 0o777).toBe(0o660);
    expect(statSync(sock).gid).toBe(990); // the greeter group of the seeded root

    await until(() => stack!.uiLog().length === 1, 'the first UI up');
    const hello = await rawV1(sock, { type: 'hello', version: 1 });
    expect(hello.line).toBe(
      '{"type":"hello_ok","background":"/usr/share/redbear/greeter/background.png","icon":"/usr/share/redbear/greeter/icon.png","session_name":"KDE on Wayland","state":"greeter_ready","message":""}',
    );

    const bad = await rawV1(sock, { type: 'submit_login', username: 'alice', password: 'wrong-password-x' });
    expect(bad.line).toBe('{"type":"login_result","ok":false,"state":"greeter_ready","message":"Login failed"}');
    expect((await rawV1(sock, { type: 'hello', version: 1 })).value.state).toBe('greeter_ready');

    writeFileSync(stack.root.path('/run/redbear-kde-session.validation-request'), '');
    const good = await rawV1(sock, { type: 'submit_login', username: 'alice', password: 'correct horse 42' });
    expect(good.value).toMatchObject({ type: 'login_result', ok: true });
    expect(Object.keys(good.value)).toEqual(['type', 'ok', 'state', 'message']);
    await until(() => existsSync(stack!.root.path('/run/redbear-kde-session.validation-success')), 'validation success marker');
    await until(async () => (await rawV1(sock, { type: 'hello', version: 1 })).value.state === 'greeter_ready', 'greeter_ready again');

    // The UI was stopped for the session and started again afterwards, always as the greeter user.
    const starts = await until(() => {
      const s = stack!.uiLog().filter((l) => !l.endsWith('stopped'));
      return s.length >= 2 && s;
    }, 'the UI back');
    expect(starts.length).toBe(2);
    for (const l of starts) expect(l.split(' ').slice(1, 3)).toEqual(['990', '990']);
    expect(stack.uiLog().some((l) => l.endsWith('stopped'))).toBe(true);
    await until(() => stack!.cmdLog().filter((l) => l === 'activate 3').length >= 2, 'the greeter VT activated at start and on return');
    expect(stack.sessiond.calls.filter((c) => c.type === 'create_session')).toHaveLength(1);

    assertNoSecrets({ log: stack.log(), stderr: stack.greeterd.stderr(), stdout: stack.greeterd.stdout() }, ['correct horse 42', 'wrong-password-x']);
  });

  it('v1 power requests go through authd', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    const r = await rawV1(stack.greeterd.socket, { type: 'request_reboot' });
    expect(r.line).toBe('{"type":"action_result","ok":true,"message":"reboot requested"}');
    expect(stack.authd.power).toEqual(['reboot']);
  });

  it('unknown and malformed v1 requests get a v1 error and the daemon stays up', async () => {
    stack = await startStack({ users: { alice: { password: 'pw-alice-1234', uid: 1000 } } });
    const r = await rawV1(stack.greeterd.socket, { type: 'frobnicate' });
    expect(r.value.type).toBe('error');
    expect(Object.keys(r.value)).toEqual(['type', 'message']);
    expect((await rawV1(stack.greeterd.socket, { type: 'hello', version: 1 })).value.type).toBe('hello_ok');
  });
});
