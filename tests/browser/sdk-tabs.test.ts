import { readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Callbacks passed to page.evaluate run in the browser; they reach its globals through
// `globalThis as any`, since this file is type-checked against Node's types.

/**
 * The SDK in two tabs of one origin (the example app, cookie transport) in real Chromium,
 * against the stack, whose auth log says how many refreshes the server saw. Access tokens live
 * 12 s here (tests/support/browser-setup.ts), so the SDK refreshes within 6 s of expiry.
 */
const CHROMIUM = inject('chromiumPath');
const api = inject('browserApiUrl');
const examples = inject('browserExamplesUrl');

let browser: Browser;
let context: BrowserContext;
let tabA: Page;
let tabB: Page;
let sessionId: string;

/** The refreshes of one session the server logged (the stack's auth log). */
function serverRefreshes(session: string): number {
  return readFileSync(inject('browserAuthLog'), 'utf8')
    .split('\n')
    .filter((line) => line.includes(session))
    .map((line) => JSON.parse(line) as { event: string; outcome: string; sessionId?: string })
    .filter((event) => event.event === 'refresh' && event.sessionId === session).length;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the tab's access token is within the SDK's refresh lead (expiring). */
async function untilExpiring(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const auth = (globalThis as any).auth;
    return auth.expiresAt !== null && auth.expiresAt - Date.now() < 5000;
  }, undefined, { timeout: 20_000, polling: 100 });
}

/** 20 authenticated requests at once from a tab; their statuses. */
function burst(page: Page): Promise<number[]> {
  return page.evaluate(async (url) => {
    const auth = (globalThis as any).auth;
    const responses = await Promise.all(Array.from({ length: 20 }, () => auth.fetch(`${url}/example/whoami`) as Promise<Response>));
    return responses.map((response) => response.status);
  }, api);
}

async function openTab(): Promise<Page> {
  const page = await context.newPage();
  await page.goto(examples);
  await page.waitForSelector('body[data-state]');
  return page;
}

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext();
  tabA = await openTab();
  tabB = await openTab();
});

afterAll(async () => {
  await browser?.close();
});

describe('SDK in two tabs of one origin', () => {
  it('a sign-in in one tab signs the other in (broadcast)', async () => {
    const email = `tabs-${Date.now()}@example.com`;
    const result = await tabA.evaluate(async (email) => {
      const auth = (globalThis as any).auth;
      await auth.register({ email, password: 'two tabs password' });
      return auth.login({ email, password: 'two tabs password' });
    }, email);
    expect(result.status).toBe('signedIn');
    sessionId = result.sessionId;
    await tabA.waitForSelector('body[data-state="logged-in"]');
    await tabB.waitForSelector('body[data-state="logged-in"]', { timeout: 2000 });
    expect(await tabB.evaluate(() => (globalThis as any).auth.user?.email)).toBe(email);
  });

  it('both tabs fire 20 requests with an expiring token at once: the server sees one refresh per rotation, nobody is logged out', async () => {
    for (let rotation = 1; rotation <= 3; rotation++) {
      await untilExpiring(tabA);
      await untilExpiring(tabB);
      const before = serverRefreshes(sessionId);
      const [a, b] = await Promise.all([burst(tabA), burst(tabB)]);
      expect(a).toEqual(Array(20).fill(200));
      expect(b).toEqual(Array(20).fill(200));
      await sleep(300); // the log line follows the response
      expect(serverRefreshes(sessionId) - before, `rotation ${rotation}`).toBe(1);
      for (const tab of [tabA, tabB]) {
        expect(await tab.getAttribute('body', 'data-state')).toBe('logged-in');
        expect(await tab.evaluate(() => (globalThis as any).auth.expiresAt - Date.now())).toBeGreaterThan(6000);
      }
    }
  });

  it('a tab closed while it holds the refresh lock does not block the other', async () => {
    const tabC = await openTab();
    await tabC.waitForSelector('body[data-state="logged-in"]');
    // C's refresh request hangs (never answered) while C holds the lock; then C is closed.
    await tabC.route('**/auth/refresh', () => undefined);
    await untilExpiring(tabC);
    void tabC.evaluate(() => (globalThis as any).auth.refresh()).catch(() => undefined);
    await tabC.waitForFunction(async () => {
      const held = await (globalThis as any).navigator.locks.query();
      return held.held.length > 0;
    });
    await tabC.close();
    await untilExpiring(tabB);
    const started = Date.now();
    expect(await burst(tabB)).toEqual(Array(20).fill(200));
    // Well within the 10 s lock timeout: closing the tab released its lock.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await tabB.getAttribute('body', 'data-state')).toBe('logged-in');
  });

  it('a logout in one tab signs the other out within a second', async () => {
    await tabA.click('#logout');
    await tabA.waitForSelector('body[data-state="logged-out"]');
    const started = Date.now();
    await tabB.waitForSelector('body[data-state="logged-out"]', { timeout: 1000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await tabB.evaluate(() => (globalThis as any).auth.user)).toBeNull();
    // And the server agrees: the session no longer refreshes.
    expect(await tabB.evaluate(() => (globalThis as any).auth.refresh())).toBe(false);
  });
});
