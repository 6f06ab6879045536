import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertNoSecrets } from '../test/harness/index.js';
import { ARTIFACTS, e2eReady, startStack, until, type Stack } from './stack.js';

/**
 * First boot on an empty system, through the real daemons and the web shell in Chromium:
 * OOBE → the new user's session → back to the greeter; PIN login with the PIN chosen during
 * setup; authd dying and coming back; shutdown with confirmation.
 */
const ready = e2eReady();
if (!ready.ok) console.warn(`e2e skipped: ${ready.why}`);

const FULL_NAME = 'Ada Lovelace';
const USERNAME = 'ada';
const PASSWORD = 'Analytical-Engine-1843';
const PIN = '5820173946';

let s: Stack;
const violations: string[] = [];
const shoot = async (name: string) => violations.push(...(await s.shoot(name)));

describe.skipIf(!ready.ok)('e2e: first boot, PIN, authd outage, shutdown, fatal screen', () => {
  beforeAll(async () => {
    s = await startStack([]);
  }, 60_000);

  afterEach(async (ctx) => {
    // A failed step leaves a picture of what the page showed.
    if (ctx.task.result?.state === 'fail') await s?.page.screenshot({ path: `${ARTIFACTS}/FAILED-${ctx.task.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}.png` }).catch(() => undefined);
  });

  afterAll(async () => {
    await s?.cleanup('first-boot');
  }, 60_000);

  it('first boot: OOBE creates the user and goes straight into the session, which ends back at the greeter', async () => {
    const { page } = s;
    const from = s.stdout('greeterd').length;
    await s.openUi('');
    await page.getByTestId('oobe-step-welcome').waitFor();
    await s.waitForOutput('greeterd', 'ui: oobe start', from);
    await shoot('oobe-welcome');
    await page.getByTestId('oobe-next').click();

    await page.getByTestId('oobe-step-name').waitFor();
    await page.getByTestId('oobe-fullname').fill(FULL_NAME);
    await shoot('oobe-name');
    await page.keyboard.press('Enter');

    await page.getByTestId('oobe-step-username').waitFor();
    await expect.poll(() => page.getByTestId('oobe-username').inputValue()).toBe(USERNAME);
    await shoot('oobe-username');
    await page.getByTestId('oobe-next').click();

    await page.getByTestId('oobe-step-password').waitFor();
    await page.getByTestId('oobe-password').fill(PASSWORD);
    await page.getByTestId('oobe-password-confirm').fill('not-the-same-1');
    await page.getByTestId('oobe-next').click();
    await page.getByTestId('oobe-error').waitFor();
    await page.getByTestId('oobe-password-confirm').fill(PASSWORD);
    await expect.poll(async () => Number(await page.getByTestId('strength-meter').getAttribute('data-score'))).toBeGreaterThanOrEqual(2);
    await shoot('oobe-password');
    await page.getByTestId('oobe-next').click();

    await page.getByTestId('oobe-step-pin').waitFor();
    await page.getByTestId('oobe-pin').fill(PIN);
    await page.getByTestId('oobe-pin-confirm').fill(PIN);
    await shoot('oobe-pin');
    await page.getByTestId('oobe-next').click();

    await page.getByTestId('oobe-step-recovery').waitFor({ timeout: 30_000 });
    const key = (await page.getByTestId('recovery-key').textContent()) ?? '';
    expect(key).toMatch(/^[A-Z0-9]{4,}(-[A-Z0-9]{4,})+$/);
    await shoot('oobe-recovery');
    await page.getByTestId('oobe-next').click();

    await page.getByTestId('oobe-step-confirm').waitFor();
    // The key is shown once: it is gone from the page after leaving the recovery step.
    expect(await page.content()).not.toContain(key);
    await expect.poll(() => page.getByTestId('oobe-finish').isDisabled()).toBe(true);
    await page.getByTestId('recovery-ack').check();
    await shoot('oobe-confirm');
    await page.getByTestId('oobe-finish').click();

    // The recording session command proves the session runs as the new user.
    const line = await until(() => s.sessionLog().find((l) => l.startsWith(`started user=${USERNAME} `)), 'the session command', 30_000);
    const uid = Number(/ uid=(\d+)/.exec(line)![1]);
    expect(uid).toBeGreaterThanOrEqual(1000);
    await s.waitForOutput('greeterd', `ui: login uid=${uid}`, from);
    const [sess] = await s.waitForSession((l) => l.some((x) => x.username === USERNAME && x.state === 'active'), 'an active session');
    expect(sess).toMatchObject({ username: USERNAME, uid, state: 'active' });

    // End it like the user's logout would; greeterd restarts the kiosk with a new URL.
    const out = await s.nxSession('logout', sess!.sid);
    expect(out.code, out.stderr).toBe(0);
    await until(() => s.sessionLog().some((l) => l.startsWith(`ended user=${USERNAME} `)), 'the session to end');
    await s.openUi();
    // One account: the greeter goes straight to its password field; Back shows the list.
    await page.getByTestId('selected-user').waitFor();
    expect(await page.getByTestId('selected-user').textContent()).toBe(FULL_NAME);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('password-field');
    await shoot('greeter-password');
    await page.getByTestId('back-button').click();
    await page.getByTestId(`user-tile-${USERNAME}`).waitFor();
    await shoot('greeter-user-list');
  }, 120_000);

  it('PIN login with the PIN chosen during setup', async () => {
    const { page } = s;
    const from = s.stdout('greeterd').length;
    await page.getByTestId(`user-tile-${USERNAME}`).click();
    await page.getByTestId('auth-mode-toggle').click();
    await page.getByTestId('pin-field').waitFor();
    await page.getByTestId('pin-field').fill('0000');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 15_000 }).toBe('Login failed');
    await shoot('greeter-pin-failed');
    const before = s.sessionLog().length;
    await page.getByTestId('pin-field').fill(PIN);
    await page.keyboard.press('Enter');
    await until(() => s.sessionLog().slice(before).some((l) => l.startsWith(`started user=${USERNAME} `)), 'the PIN session', 30_000);
    const [sess] = await s.waitForSession((l) => l.some((x) => x.username === USERNAME && x.state === 'active'), 'an active session');
    await s.waitForOutput('greeterd', `ui: login uid=${sess!.uid}`, from);
    expect((await s.nxSession('logout', sess!.sid)).code).toBe(0);
    await s.openUi();
    await page.getByTestId('selected-user').waitFor();
  }, 90_000);

  it('authd killed: the greeter says the service is unavailable, and login works once authd is back', async () => {
    const { page } = s;
    await s.stop('authd', 'SIGKILL');
    await page.getByTestId('password-field').fill(PASSWORD);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('The authentication service is unavailable. Please try again.');
    await shoot('greeter-authd-unavailable');
    expect(await page.getByTestId('greeter').isVisible()).toBe(true);

    await s.start('authd');
    const from = s.stdout('greeterd').length;
    const sessions = s.sessionLog().length;
    // greeterd reconnects with backoff: retry until the login goes through.
    await until(async () => {
      if (s.sessionLog().length > sessions) return true;
      if (await page.getByTestId('login-submit').isDisabled()) return false;
      await page.getByTestId('password-field').fill(PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForTimeout(1000);
      return s.sessionLog().length > sessions;
    }, 'a login after authd came back', 30_000, 200);
    const [sess] = await s.waitForSession((l) => l.some((x) => x.username === USERNAME && x.state === 'active'), 'an active session');
    await s.waitForOutput('greeterd', `ui: login uid=${sess!.uid}`, from);
    expect((await s.nxSession('logout', sess!.sid)).code).toBe(0);
    await s.openUi();
    await page.getByTestId('selected-user').waitFor();
  }, 90_000);

  it('shutdown asks for confirmation and then reaches the power command', async () => {
    const { page } = s;
    await page.getByTestId('shutdown-button').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await shoot('confirm-shutdown');
    await page.getByTestId('confirm-cancel').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    await page.waitForTimeout(300);
    expect(s.powerLog()).toEqual([]);
    await page.getByTestId('shutdown-button').click();
    await page.getByTestId('confirm-accept').click();
    await until(() => s.powerLog().includes('poweroff'), 'the power command', 15_000);
    await page.getByTestId('splash').waitFor();
    await shoot('power-splash');
    expect(s.powerLog()).toEqual(['poweroff']);
  }, 60_000);

  it('greeterd gone: the fatal screen tells how to reach the text console', async () => {
    const { page } = s;
    await s.stop('greeterd'); // its UI (the web shell) goes with it: the page loses its API
    await page.getByTestId('fatal-screen').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('fatal-screen').getAttribute('data-reason')).toBe('disconnected');
    expect(await page.getByTestId('fatal-screen').textContent()).toContain('Ctrl+Alt+F2');
    await shoot('fatal-disconnected');
  }, 30_000);

  it('no serious or critical accessibility violations on any screen; no secret in any output; no session process left', async () => {
    expect(violations).toEqual([]);
    await until(() => s.leftovers().length === 0, 'the ended sessions\' processes to be gone', 5_000).catch(() => undefined);
    expect(s.leftovers(), 'processes of ended sessions still running').toEqual([]);
    assertNoSecrets(s.allOutput(), [PASSWORD, PIN]);
  });
});
