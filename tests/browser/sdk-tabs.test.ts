import { readFileSync } from 'node:fs';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Callbacks passed to page.evaluate run in the browser; they reach its globals through
// `globalThis as any`, since this file is type-checked against Node's types.

/**
 * The SDK in two tabs of one origin (the example app, cookie transport) in real Chromium,
 * against the stack, whose auth log says how many refreshes the server saw. Access tokens live
 * 12 s here (tests/support/browser-setup.ts), so the SDK refreshes within 6 s of expiry.
 */
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

/** `window.createAuthClient` on the page, imported as an app imports the package (a module script). */
async function importSdk(page: Page): Promise<void> {
  await page.addScriptTag({ type: 'module', content: "import { createAuthClient } from '/sdk/index.js'; window.createAuthClient = createAuthClient;" });
  await page.waitForFunction(() => typeof (globalThis as any).createAuthClient === 'function');
}

async function openTab(): Promise<Page> {
  const page = await context.newPage();
  await page.goto(examples);
  await page.waitForSelector('body[data-state]');
  return page;
}

beforeAll(async () => {
  browser = await launchChromium();
  context = await browser.newContext();
  tabA = await openTab();
  tabB = await openTab();
});

afterAll(async () => {
  await browser?.close();
});

describe('SDK in two tabs of one origin', () => {
  it('offers the passkey and security-activity elements (their routes come with passkeys and security events)', async () => {
    expect(await tabA.isVisible('#passkey-login')).toBe(true); // signed out: on the login form
    for (const id of ['add-passkey', 'passkey-list', 'security-events']) expect(await tabA.$(`#${id}`), id).not.toBeNull();
  });

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
    expect(await tabB.isVisible('#add-passkey')).toBe(true);
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
      const g = globalThis as any;
      const { held } = await g.navigator.locks.query();
      return held.some((lock: { name: string }) => lock.name === `serverless-auth:${g.AUTH_API_URL}`);
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

  it('never runs an app listener while it holds the lock', async () => {
    await tabA.evaluate(async () => {
      const g = globalThis as any;
      g.lockFreeDuringEvent = [];
      g.auth.on('refreshed', () => {
        // Taking the SDK's own lock "if available" succeeds only when nobody (this tab included) holds it.
        const name = `serverless-auth:${g.AUTH_API_URL}`;
        g.lockFreeDuringEvent.push(g.navigator.locks.request(name, { ifAvailable: true }, (lock: unknown) => lock !== null));
      });
      const email = `listener-${Date.now()}@example.com`;
      await g.auth.register({ email, password: 'listener password' });
      await g.auth.login({ email, password: 'listener password' });
      await g.auth.refresh();
    });
    expect(await tabA.evaluate(() => Promise.all((globalThis as any).lockFreeDuringEvent))).toEqual([true]);
    await tabA.click('#logout');
    await tabA.waitForSelector('body[data-state="logged-out"]');
  });

  it('the body transport with a shared storage (localStorage): two tabs, 20 requests each, one refresh per rotation', async () => {
    const setUp = async (page: Page) => {
      await importSdk(page);
      await page.evaluate(async (url) => {
        const g = globalThis as any;
        const createAuthClient = g.createAuthClient;
        const storage = { get: () => g.localStorage.getItem('rt'), set: (value: string) => g.localStorage.setItem('rt', value), remove: () => g.localStorage.removeItem('rt') };
        g.bodyAuth = createAuthClient({ baseUrl: url, storage, name: 'body-tabs' });
        g.bodyEvents = [];
        for (const type of ['signedIn', 'refreshed', 'signedOut']) g.bodyAuth.on(type, () => g.bodyEvents.push(type));
      }, api);
    };
    await setUp(tabA);
    await setUp(tabB);
    const email = `body-tabs-${Date.now()}@example.com`;
    const session = await tabA.evaluate(async (email) => {
      const auth = (globalThis as any).bodyAuth;
      await auth.register({ email, password: 'body tabs password' });
      return (await auth.login({ email, password: 'body tabs password' })).sessionId as string;
    }, email);
    await tabB.waitForFunction(() => (globalThis as any).bodyAuth.user !== null, undefined, { timeout: 2000 });
    const bodyBurst = (page: Page) =>
      page.evaluate(async (url) => {
        const auth = (globalThis as any).bodyAuth;
        return (await Promise.all(Array.from({ length: 20 }, () => auth.fetch(`${url}/example/whoami`) as Promise<Response>))).map((r) => r.status);
      }, api);
    for (let rotation = 1; rotation <= 2; rotation++) {
      for (const tab of [tabA, tabB]) {
        await tab.waitForFunction(() => (globalThis as any).bodyAuth.expiresAt - Date.now() < 5000, undefined, { timeout: 20_000, polling: 100 });
      }
      const before = serverRefreshes(session);
      const [a, b] = await Promise.all([bodyBurst(tabA), bodyBurst(tabB)]);
      expect([...a, ...b]).toEqual(Array(40).fill(200));
      await sleep(300);
      expect(serverRefreshes(session) - before, `rotation ${rotation}`).toBe(1);
    }
    expect(await tabB.evaluate(() => (globalThis as any).bodyEvents)).toEqual(['signedIn', 'refreshed', 'refreshed']);
    await tabB.evaluate(() => (globalThis as any).bodyAuth.logout());
    await tabA.waitForFunction(() => (globalThis as any).bodyAuth.user === null, undefined, { timeout: 1000 });
    expect(await tabA.evaluate(() => (globalThis as any).localStorage.getItem('rt'))).toBeNull();
  });

  it('a tab that holds the lock and never lets go delays the other at most the lock timeout', async () => {
    // Tab A takes the lock of an app named "stuck-lock" and never releases it (a hung tab).
    await tabA.evaluate(() => {
      void (globalThis as any).navigator.locks.request('stuck-lock', () => new Promise(() => undefined));
    });
    await importSdk(tabB);
    const outcome = await tabB.evaluate(async (url) => {
      const g = globalThis as any;
      const auth = g.createAuthClient({ baseUrl: url, name: 'stuck-lock', lockTimeoutMs: 1000 });
      const email = `stuck-${Date.now()}@example.com`;
      await auth.register({ email, password: 'stuck lock password' });
      await auth.login({ email, password: 'stuck lock password' });
      const started = Date.now();
      const refreshed = await auth.refresh();
      return { refreshed, ms: Date.now() - started, signedIn: auth.user !== null };
    }, api);
    expect(outcome).toMatchObject({ refreshed: true, signedIn: true });
    expect(outcome.ms).toBeGreaterThanOrEqual(900);
    expect(outcome.ms).toBeLessThan(5000);
  });
});
