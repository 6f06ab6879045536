#!/usr/bin/env node
// Visual check: serves renderer/dist, drives the fake greeterd (?fake=1) with
// the system Chromium and writes screenshots to $SHOTS_DIR (default /tmp/ui-shots).
//   npm run shots -w @redbear/renderer   (builds with the fake, then shoots)
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const out = process.env.SHOTS_DIR ?? '/tmp/ui-shots';
await mkdir(out, { recursive: true });
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '') || 'index.html';
  try {
    const body = await readFile(join(dist, path));
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/index.html`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const problems = [];
async function open(query, { width = 1280, height = 800, scale = 1 } = {}) {
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: scale, locale: 'en-US' });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${query}: ${m.text()}`); });
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP: ${e.violatedDirective} ${e.blockedURI}`)));
  page.on('pageerror', (e) => problems.push(`${query}: ${e.message}`));
  await page.goto(`${base}?fake=1&latency=150${query}`);
  return page;
}
const shot = async (page, name) => {
  await page.waitForTimeout(250);
  const styled = await page.evaluate(() => [...document.querySelectorAll('[style]')].filter((e) => (e.getAttribute('style') ?? '').trim() !== '').map((e) => (e.getAttribute('data-testid') ?? e.tagName) + '{' + e.getAttribute('style') + '}').join(' | '));
  if (styled) problems.push(`${name}: inline style= (blocked by CSP): ${styled} (blocked by style-src 'self')`);
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`${name}.png`);
};

try {
  // Greeter
  let p = await open('');
  await p.getByTestId('user-tile-alice').waitFor();
  await shot(p, '01-greeter-users');
  await p.getByTestId('user-tile-alice').click();
  await p.getByTestId('password-field').waitFor();
  await p.keyboard.type('hunter2');
  await shot(p, '02-greeter-password');
  await p.keyboard.press('Enter');
  await p.getByTestId('status').filter({ hasText: 'Login failed' }).waitFor();
  await shot(p, '03-greeter-login-failed');
  for (let i = 0; i < 2; i++) {
    await p.keyboard.type('wrong');
    await p.keyboard.press('Enter');
    await p.waitForTimeout(400);
  }
  await p.getByTestId('countdown').waitFor();
  await shot(p, '04-greeter-countdown');
  await p.getByTestId('auth-mode-toggle').click();
  await shot(p, '05-greeter-pin-mode');
  await p.getByTestId('shutdown-button').click();
  await p.getByTestId('confirm-dialog').waitFor();
  await shot(p, '06-shutdown-confirm');
  await p.close();

  p = await open('');
  await p.getByTestId('user-tile-bob').click();
  await p.keyboard.type('password');
  await p.keyboard.press('Enter');
  await p.getByTestId('status').filter({ hasText: 'Starting session' }).waitFor();
  await shot(p, '07-greeter-starting-session');
  await p.close();

  p = await open('');
  await p.getByTestId('user-tile-other').click();
  await p.getByTestId('username-field').fill('expired');
  await p.getByTestId('password-field').fill('password');
  await p.keyboard.press('Enter');
  await p.getByTestId('change-password-form').waitFor();
  await p.getByTestId('change-old').fill('password');
  await p.getByTestId('change-new').fill('Correct-horse-9');
  await shot(p, '08-expired-password-change');
  await p.close();

  p = await open('');
  await p.getByTestId('user-tile-other').click();
  await p.getByTestId('username-field').fill('disabled');
  await p.getByTestId('password-field').fill('password');
  await p.keyboard.press('Enter');
  await p.getByTestId('status').filter({ hasText: 'disabled' }).waitFor();
  await shot(p, '09-account-disabled');
  await p.close();

  // Lock
  p = await open('&locked=1');
  await p.getByTestId('lock-screen').waitFor();
  await shot(p, '10-lock');
  await p.keyboard.type('99');
  await p.keyboard.press('Enter');
  await p.getByTestId('status').filter({ hasText: 'Unlock failed' }).waitFor();
  await shot(p, '11-lock-failed');
  await p.getByTestId('switch-user').click();
  await p.getByTestId('greeter').waitFor();
  await shot(p, '12-lock-switch-user-greeter');
  await p.close();

  // Fatal
  p = await open('&down=1');
  await p.getByTestId('fatal-screen').waitFor();
  await shot(p, '13-fatal');
  await p.close();

  // Accessibility / locale
  p = await open('&hc=1');
  await p.getByTestId('user-tile-alice').waitFor();
  await shot(p, '14-high-contrast-users');
  await p.getByTestId('user-tile-alice').click();
  await p.keyboard.type('x');
  await shot(p, '15-high-contrast-password');
  await p.close();

  p = await open('&large=1');
  await p.getByTestId('a11y-menu-button').click();
  await shot(p, '16-large-text-a11y-menu');
  await p.close();

  p = await open('&lang=de');
  await p.getByTestId('user-tile-alice').click();
  await p.keyboard.type('falsch');
  await p.keyboard.press('Enter');
  await p.getByTestId('status').filter({ hasText: 'fehlgeschlagen' }).waitFor();
  await shot(p, '17-german-greeter');
  await p.close();
  p = await open('&lang=de&locked=1');
  await p.getByTestId('lock-screen').waitFor();
  await shot(p, '18-german-lock');
  await p.close();

  // OOBE
  p = await open('&firstBoot=1');
  await p.getByTestId('oobe-step-welcome').waitFor();
  await shot(p, '20-oobe-welcome');
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-fullname').waitFor();
  await p.keyboard.type('Zoë Müller');
  await shot(p, '21-oobe-name');
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-username').waitFor();
  await shot(p, '22-oobe-username');
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-password').waitFor();
  await p.keyboard.type('zoe12345');
  await shot(p, '23-oobe-password-weak');
  await p.getByTestId('oobe-password').fill('Maple-river-71-Cloud');
  await p.getByTestId('oobe-password-confirm').fill('Maple-river-71-Cloud');
  await shot(p, '24-oobe-password-strong');
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-pin').waitFor();
  await p.keyboard.type('2468');
  await shot(p, '25-oobe-pin');
  await p.getByTestId('oobe-pin-confirm').fill('2468');
  await p.keyboard.press('Enter');
  await p.getByTestId('recovery-key').waitFor();
  await shot(p, '26-oobe-recovery-key');
  await p.keyboard.press('Enter');
  await p.getByTestId('recovery-ack').waitFor();
  await p.keyboard.press('Space');
  await shot(p, '27-oobe-confirm');
  await p.getByTestId('oobe-finish').click();
  await p.getByTestId('status').filter({ hasText: 'Starting session' }).waitFor();
  await shot(p, '28-oobe-starting');
  await p.close();

  // Fatal screen recovers by itself when greeterd comes back.
  p = await open('&down=1&downMs=3500');
  await p.getByTestId('fatal-screen').waitFor();
  await p.getByTestId('user-tile-alice').waitFor({ timeout: 10_000 });
  console.log('fatal → greeter recovery ok');
  // Escape goes back; focus lands in the password field when a user is chosen.
  await p.getByTestId('user-tile-bob').click();
  const focused = await p.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  if (focused !== 'password-field') throw new Error(`focus is on ${focused}`);
  await p.keyboard.press('Escape');
  await p.getByTestId('user-tile-alice').waitFor();
  console.log('focus + Escape ok');
  // Lock hotkey from the greeter.
  await p.keyboard.press('Control+Shift+L');
  await p.getByTestId('lock-screen').waitFor();
  await p.keyboard.type('1234');
  await p.keyboard.press('Enter');
  await p.getByTestId('greeter').waitFor();
  console.log('lock hotkey + PIN unlock ok');
  await p.close();

  // Continue token expired → greeter with the new user preselected.
  p = await open('&firstBoot=1&expireToken=1');
  await p.getByTestId('oobe-next').click();
  await p.getByTestId('oobe-fullname').fill('Carol Danvers');
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-username').waitFor();
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-password').fill('Maple-river-71-Cloud');
  await p.getByTestId('oobe-password-confirm').fill('Maple-river-71-Cloud');
  await p.keyboard.press('Enter');
  await p.getByTestId('oobe-skip-pin').click();
  const key = await p.getByTestId('recovery-key').textContent();
  if (!/^[A-Z0-9]{4}(-[A-Z0-9]{4}){7}$/.test(key ?? '')) throw new Error(`recovery key text ${key}`);
  await p.getByTestId('oobe-next').click();
  await p.getByTestId('recovery-ack').check();
  await p.getByTestId('oobe-finish').click();
  await p.getByTestId('selected-user').filter({ hasText: 'Carol Danvers' }).waitFor();
  await shot(p, '29-oobe-token-expired-fallback');
  await p.close();

  p = await open('', { width: 1920, height: 1080, scale: 1.5 });
  await p.getByTestId('user-tile-alice').waitFor();
  await shot(p, '30-greeter-1080p-hidpi');
  await p.close();
} finally {
  await browser.close();
  server.close();
  if (problems.length) console.log('CONSOLE PROBLEMS:\n' + problems.join('\n'));
}
