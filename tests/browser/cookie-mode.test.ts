import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inbox } from '../support/inbox';
import { stepAt, totpCode } from '../support/totp';

// Callbacks passed to page.evaluate run in the browser; they reach its globals through
// `globalThis as any`, since this file is type-checked against Node's types.

/**
 * The example browser client (examples/browser) in a real headless Chromium against the local
 * stack: cookie transport, reload, HttpOnly, parallel refreshes, logout, and a forged refresh
 * from another origin of the same site.
 */
const ARTIFACTS = path.resolve(__dirname, '../artifacts');
const api = inject('browserApiUrl');
const examples = inject('browserExamplesUrl');
const COOKIE = '__Secure-refresh-token';

let browser: Browser;
let context: BrowserContext;
let page: Page;
let attacker: Server;
let attackerUrl: string;

beforeAll(async () => {
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  // A second origin of the same site (another port on localhost): SameSite lets the cookie
  // travel from it, so only the server's Origin + header check stands in the way.
  attacker = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(`<!doctype html><title>attacker</title>
      <form id="csrf" method="POST" action="${api}/auth/refresh"></form>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', () => resolve()));
  const address = attacker.address();
  attackerUrl = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
});

async function refreshCookie() {
  return (await context.cookies()).find((cookie) => cookie.name === COOKIE && cookie.domain === 'localhost');
}

describe('browser client with the refresh token in an HttpOnly cookie', () => {
  const email = `browser-${Date.now()}@example.com`;
  const password = 'browser password 1';

  it('logs in through the page', async () => {
    await page.goto(examples);
    await page.waitForSelector('body[data-state="logged-out"]');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#register');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('login-error')?.textContent?.startsWith('Registered'));
    await page.click('#login');
    await page.waitForSelector('body[data-state="logged-in"]');
    expect(await page.textContent('#me')).toContain(email);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-logged-in.png'), fullPage: true });
  });

  it('keeps the refresh token out of reach of scripts, in a narrowly scoped secure cookie', async () => {
    expect(await page.evaluate(() => (globalThis as any).document.cookie as string)).not.toContain('refresh');
    const cookie = await refreshCookie();
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth/refresh' });
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 60);
  });

  it('stays logged in across a reload, through the cookie', async () => {
    const before = (await refreshCookie())!.value;
    await page.reload();
    await page.waitForSelector('body[data-state="logged-in"]');
    expect(await page.textContent('#me')).toContain(email);
    expect((await refreshCookie())!.value).not.toBe(before); // rotated
  });

  it('answers two parallel refreshes, both successfully', async () => {
    const results = await page.evaluate(async () => {
      const auth = (globalThis as any).auth as { refresh(): Promise<boolean> };
      return Promise.all([auth.refresh(), auth.refresh()]);
    });
    expect(results).toEqual([true, true]);
    // Also without the guard: two raw cookie refreshes at once both succeed (grace interval).
    const statuses = await page.evaluate(async (url) => {
      const call = () => fetch(`${url}/auth/refresh`, { method: 'POST', credentials: 'include', headers: { 'X-Requested-With': 'fetch' } }).then((r) => r.status);
      return Promise.all([call(), call()]);
    }, api);
    expect(statuses).toEqual([200, 200]);
    await page.reload();
    await page.waitForSelector('body[data-state="logged-in"]');
  });

  it('refuses a forged refresh from another origin, and rotates nothing', async () => {
    const before = (await refreshCookie())!.value;
    const other = await context.newPage();
    await other.goto(attackerUrl);
    // 1. A cross-origin form post: the cookie travels (same site), the Origin check refuses it.
    const [formResponse] = await Promise.all([
      other.waitForResponse((response) => response.url().endsWith('/auth/refresh')),
      other.evaluate(() => (globalThis as any).document.getElementById('csrf').submit()),
    ]);
    expect(formResponse.status()).toBe(403);
    // 2. A script on that origin: a no-cors fetch cannot add X-Requested-With; the server
    //    refuses it (403), and the browser withholds even that opaque answer (CORP same-origin).
    await other.close();
    const script = await context.newPage();
    await script.goto(attackerUrl);
    const outcome = new Promise<string>((resolve) => {
      script.on('response', (response) => {
        if (response.url().endsWith('/auth/refresh')) resolve(String(response.status()));
      });
      script.on('requestfailed', (request) => {
        if (request.url().endsWith('/auth/refresh')) resolve(request.failure()?.errorText ?? 'failed');
      });
    });
    await script.evaluate((url) => fetch(`${url}/auth/refresh`, { method: 'POST', credentials: 'include', mode: 'no-cors' }).catch(() => undefined), api);
    expect(await outcome).toMatch(/^403$|ERR_BLOCKED_BY_RESPONSE/);
    //    With the header, the CORS preflight fails and the request is never sent.
    const preflighted = await script.evaluate(
      (url) => fetch(`${url}/auth/refresh`, { method: 'POST', credentials: 'include', headers: { 'X-Requested-With': 'fetch' } }).then(() => 'sent', () => 'blocked'),
      api,
    );
    expect(preflighted).toBe('blocked');
    await script.close();
    expect((await refreshCookie())!.value).toBe(before);
    await page.reload();
    await page.waitForSelector('body[data-state="logged-in"]');
  });

  it('lists the session and logs out, clearing the cookie', async () => {
    const sessions = await page.evaluate(() => (globalThis as any).auth.sessions.list() as Promise<{ current: boolean }[]>);
    expect(sessions.some((session) => session.current)).toBe(true);
    // The security activity list shows this account's sign-ins.
    await page.waitForSelector('#security-events li[data-type="login_ok"]');
    const activity = await page.locator('#security-events li').evaluateAll((items) => items.map((item) => (item as any).dataset.type as string));
    expect(activity).toContain('login_ok');
    await page.click('#logout');
    await page.waitForSelector('body[data-state="logged-out"]');
    expect(await refreshCookie()).toBeUndefined();
    await page.reload();
    await page.waitForSelector('body[data-state="logged-out"]');
  });

  it('changes the password in the app, keeping this session', async () => {
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#login');
    await page.waitForSelector('body[data-state="logged-in"]');
    await page.fill('#current-password', password);
    await page.fill('#new-password', 'browser password 2');
    await page.click('#change');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('notice')?.textContent?.startsWith('Password changed'));
    await page.waitForSelector('body[data-state="logged-in"]');
    await page.click('#logout');
    await page.waitForSelector('body[data-state="logged-out"]');
  });

  it('resets a forgotten password from the mail’s link to a new login', async () => {
    const mail = inbox(inject('browserMailUrl'));
    const before = (await mail.to(email)).length;
    await page.fill('#email', email);
    await page.click('#forgot');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('login-error')?.textContent?.startsWith('If an account'));
    const reset = (await mail.waitFor(email, before + 1)).at(-1)!;
    expect(reset.subject).toMatch(/reset your password/i);
    const link = /(https?:\/\/\S+#reset=\S+)/.exec(reset.text)![1]!;
    expect(link.startsWith(examples)).toBe(true);

    // The link opens the app on its reset form.
    await page.goto(link);
    await page.waitForSelector('#reset-panel:not(.hidden)');
    await page.fill('#reset-password', 'browser password 3');
    await page.click('#reset');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('notice')?.textContent?.startsWith('Password reset'));
    await page.waitForSelector('body[data-state="logged-out"]');

    // The old passwords no longer work; the new one does.
    await page.fill('#email', email);
    await page.fill('#password', 'browser password 2');
    await page.click('#login');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('login-error')?.textContent === 'invalid_credentials');
    await page.fill('#password', 'browser password 3');
    await page.click('#login');
    await page.waitForSelector('body[data-state="logged-in"]');
    expect(await page.textContent('#me')).toContain(email);
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-after-reset.png'), fullPage: true });
  });

  it('turns on two-factor authentication (QR code, recovery codes), logs out, and logs in with a code', async () => {
    // Signed in from the previous test (password 3).
    await page.click('#mfa-enroll');
    await page.waitForSelector('#mfa-enrollment:not(.hidden)');
    expect(await page.getAttribute('#mfa-qr img', 'src')).toMatch(/^data:image\/svg\+xml;base64,/);
    const secret = (await page.textContent('#mfa-secret'))!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // The code the test computes itself from the secret the page showed.
    await page.fill('#mfa-confirm-code', totpCode(secret, stepAt(Date.now()) - 1));
    await page.click('#mfa-confirm');
    await page.waitForSelector('#mfa-recovery:not(.hidden)');
    const codes = (await page.textContent('#mfa-recovery-codes'))!.trim().split('\n');
    expect(codes).toHaveLength(10);
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-mfa-enrolled.png'), fullPage: true });

    await page.click('#logout');
    await page.waitForSelector('body[data-state="logged-out"]');
    await page.fill('#email', email);
    await page.fill('#password', 'browser password 3');
    await page.click('#login');
    // The password alone gives no session: the page asks for the second factor.
    await page.waitForSelector('body[data-state="mfa"]');
    expect(await refreshCookie()).toBeUndefined();
    await page.fill('#mfa-code', '000000');
    await page.click('#mfa-verify');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('mfa-error')?.textContent === 'invalid_code');
    await page.fill('#mfa-code', totpCode(secret, stepAt(Date.now())));
    await page.click('#mfa-verify');
    await page.waitForSelector('body[data-state="logged-in"]');
    expect(await page.textContent('#me')).toContain('"aal": 2');
    // The cookie login got its cookie from the verify step: a reload stays signed in.
    expect(await refreshCookie()).toBeDefined();
    await page.reload();
    await page.waitForSelector('body[data-state="logged-in"]');
  });
});
