import { type Browser, type CDPSession, type Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { stepAt, totpCode } from '../support/totp';

/**
 * Passkeys in a real Chromium, through the example app (examples/browser): Chromium's own
 * WebAuthn stack with a CDP virtual authenticator (ctap2, internal transport, resident keys,
 * user verification), @simplewebauthn/browser in the page, @simplewebauthn/server behind
 * serverless-offline. Add a passkey, sign out, sign in with it (no email, no password), remove
 * it, and see that it signs in no more.
 */
const examples = inject('browserExamplesUrl');

let browser: Browser;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;

beforeAll(async () => {
  browser = await launchChromium();
  const context = await browser.newContext();
  page = await context.newPage();
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  }));
});

afterAll(async () => {
  await browser?.close();
});

const state = (value: string) => page.waitForSelector(`body[data-state="${value}"]`);
const session = async () => (JSON.parse((await page.textContent('#me')) ?? '{}') as { session?: { aal: number; amr: string[] } }).session;

describe('passkeys in the example app', () => {
  const email = `passkey-browser-${Date.now()}@example.com`;
  const password = 'passkey browser password 1';

  it('adds a passkey to a signed-in account: a discoverable credential on the authenticator', async () => {
    await page.goto(examples);
    await state('logged-out');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#register');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('login-error')?.textContent?.startsWith('Registered'));
    await page.click('#login');
    await state('logged-in');
    expect(await session()).toMatchObject({ aal: 1, amr: ['pwd'] });

    await page.click('#add-passkey');
    await page.waitForSelector('#passkey-list li [data-passkey-delete]');
    expect(await page.textContent('#passkey-list')).toContain('this browser');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    // The user handle is the account's id: a discoverable sign-in names its user.
    const me = JSON.parse((await page.textContent('#me')) ?? '{}') as { user: { id: string } };
    expect(Buffer.from(credentials[0]!.userHandle!, 'base64').toString('utf8')).toBe(me.user.id);
  });

  it('signs in with the passkey after a logout, without email or password: aal 2, amr hwk+user', async () => {
    await page.click('#logout');
    await state('logged-out');
    await page.fill('#email', '');
    await page.fill('#password', '');
    await page.click('#passkey-login');
    await state('logged-in');
    expect(await page.textContent('#me')).toContain(email);
    expect(await session()).toMatchObject({ aal: 2, amr: ['hwk', 'user'] });
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials[0]!.signCount).toBeGreaterThanOrEqual(1);
    // A reload keeps the session (the refresh cookie), still aal 2.
    await page.reload();
    await state('logged-in');
    expect(await session()).toMatchObject({ aal: 2 });
  });

  it('a deleted passkey no longer signs in, though the authenticator still holds it', async () => {
    await page.click('#passkey-list [data-passkey-delete]');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#passkey-list li').length === 0);
    await page.click('#logout');
    await state('logged-out');
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);
    await page.click('#passkey-login');
    await page.waitForFunction(() => /invalid_credentials/.test((globalThis as any).document.getElementById('login-error')?.textContent ?? ''));
    expect(await page.getAttribute('body', 'data-state')).toBe('logged-out');
  });

  it('answers the MFA challenge of a password login with the passkey (the SDK\'s mfa.verify with a passkey): aal 2, amr pwd+hwk', async () => {
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#login');
    await state('logged-in');
    // TOTP on (its confirm makes this session aal 2 and fresh: sudo mode for the next passkey).
    const { secret } = await page.evaluate(() => (globalThis as any).auth.mfa.totp.enroll() as Promise<{ secret: string }>);
    await page.evaluate((code) => (globalThis as any).auth.mfa.totp.confirm(code), totpCode(secret, stepAt(Date.now())));
    await page.click('#add-passkey');
    await page.waitForSelector('#passkey-list li [data-passkey-delete]');
    await page.click('#logout');
    await state('logged-out');

    const answer = await page.evaluate(({ email, password }) => (globalThis as any).auth.login({ email, password }), { email, password }) as { status: string; mfaToken: string; methods: string[] };
    expect(answer).toMatchObject({ status: 'mfaRequired', methods: ['totp', 'recovery_code', 'passkey'] });
    await page.evaluate((token) => (globalThis as any).auth.mfa.verify(token, { passkey: true }), answer.mfaToken);
    const me = await page.evaluate(() => (globalThis as any).auth.me() as Promise<{ session: { aal: number; amr: string[] } }>);
    expect(me.session).toMatchObject({ aal: 2, amr: ['pwd', 'hwk'] });
  });
});
