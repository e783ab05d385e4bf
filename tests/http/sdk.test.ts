import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { inbox, tokenIn } from '../support/inbox';
import { loadSdk } from '../support/sdk';
import { stepAt, totpCode } from '../support/totp';
import { api, PASSWORD, sleep, uniqueEmail } from './client';
import type * as Sdk from '../../client/src/index';

/**
 * The SDK as shipped (client/dist, built by the global setup) in Node, against the real stack:
 * no mocked server. Refreshes are counted by wrapping the real `fetch` the client is given.
 */
let sdk: typeof Sdk;
const baseUrl = () => inject('apiUrl');

beforeAll(async () => {
  sdk = await loadSdk();
});

afterEach(() => {
  vi.useRealTimers();
});

/** A client whose requests are all real; `calls` lists the paths it requested. */
function client(options: Partial<Sdk.AuthClientOptions> = {}) {
  const calls: string[] = [];
  const auth = sdk.createAuthClient({
    baseUrl: baseUrl(),
    fetch: (input, init) => {
      calls.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    },
    ...options,
  });
  const events: string[] = [];
  auth.on('signedIn', () => events.push('signedIn'));
  auth.on('refreshed', () => events.push('refreshed'));
  auth.on('signedOut', (event) => events.push(`signedOut:${event.reason}`));
  const refreshes = () => calls.filter((path) => path === '/auth/refresh').length;
  return { auth, calls, events, refreshes };
}

async function signedIn(label: string, options: Partial<Sdk.AuthClientOptions> = {}) {
  const email = uniqueEmail(label);
  const c = client(options);
  await c.auth.register({ email, password: PASSWORD });
  const result = await c.auth.login({ email, password: PASSWORD, device: { name: `sdk ${label}` } });
  expect(result.status).toBe('signedIn');
  return { ...c, email };
}

function memoryStorage(): Sdk.TokenStorage & { value: string | null } {
  return {
    value: null,
    get() {
      return this.value;
    },
    set(value) {
      this.value = value;
    },
    remove() {
      this.value = null;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<Sdk.AuthClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(sdk.AuthClientError);
  return error as Sdk.AuthClientError;
}

/** Moves the client's clock (Date only; timers stay real) past the access token's expiry. */
function jumpPastExpiry(auth: Sdk.AuthClient) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(auth.expiresAt! + 1000);
}

describe('SDK: sign-in, profile, errors', () => {
  it('logs in (signedIn), reads /auth/me and the sessions, and logs out (signedOut: logout)', async () => {
    const { auth, events, email } = await signedIn('basic');
    expect(auth.user?.email).toBe(email);
    expect(events).toEqual(['signedIn']);
    const profile = await auth.me();
    expect(profile.user).toMatchObject({ email, emailVerified: false, mfa: { totp: false } });
    expect(profile.session).toMatchObject({ aal: 1, amr: ['pwd'] });
    const sessions = await auth.sessions.list();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ current: true, device: { name: 'sdk basic' } });
    await auth.logout();
    expect(events).toEqual(['signedIn', 'signedOut:logout']);
    expect(auth.user).toBeNull();
    expect(await rejection(auth.me())).toMatchObject({ code: 'invalid_token', status: 401 });
  });

  it('errors carry the contract’s code, status and Retry-After', async () => {
    const email = uniqueEmail('errors');
    const { auth } = client();
    await auth.register({ email, password: PASSWORD });
    expect(await rejection(auth.register({ email, password: PASSWORD }))).toMatchObject({ code: 'email_taken', status: 409, retryAfter: undefined });
    expect(await rejection(auth.register({ email: uniqueEmail(), password: 'short' }))).toMatchObject({ code: 'invalid_request', status: 400 });
    // RATE_LIMIT_LOGIN_PER_ACCOUNT is 8/60s in the test stack.
    let limited: Sdk.AuthClientError | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const error = await rejection(auth.login({ email, password: 'wrong password 1' }));
      if (error.code === 'rate_limited') limited = error;
      else expect(error).toMatchObject({ code: 'invalid_credentials', status: 401 });
    }
    expect(limited).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(limited!.retryAfter).toBeGreaterThanOrEqual(1);
    expect(() => sdk.createAuthClient({ baseUrl: baseUrl(), transport: 'cookie', storage: memoryStorage() })).toThrow(TypeError);
    const unreachable = sdk.createAuthClient({ baseUrl: 'http://127.0.0.1:9' });
    expect(await rejection(unreachable.login({ email, password: PASSWORD }))).toMatchObject({ code: 'network_error', status: 0 });
  });
});

describe('SDK: authenticated fetch and refresh', () => {
  it('20 requests with an expired token at once: one refresh, all 20 answered', async () => {
    const { auth, refreshes, events } = await signedIn('burst');
    const before = auth.getAccessToken();
    jumpPastExpiry(auth);
    const responses = await Promise.all(Array.from({ length: 20 }, () => auth.fetch(`${baseUrl()}/example/whoami`)));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    expect(refreshes()).toBe(1);
    expect(await auth.getAccessToken()).not.toBe(await before);
    expect(events).toEqual(['signedIn', 'refreshed']);
  });

  it('refreshes shortly before expiry, not on every call', async () => {
    const { auth, refreshes } = await signedIn('leeway');
    await auth.fetch(`${baseUrl()}/example/whoami`);
    expect(refreshes()).toBe(0);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(auth.expiresAt! - 30_000); // within the 60 s lead
    expect((await auth.fetch(`${baseUrl()}/example/whoami`)).status).toBe(200);
    expect(refreshes()).toBe(1);
    expect((await auth.fetch(`${baseUrl()}/example/whoami`)).status).toBe(200);
    expect(refreshes()).toBe(1);
  });

  it('an early refresh the server turns away (429) does not fail a request while the token still works', async () => {
    const { auth, refreshes } = await signedIn('limited');
    // RATE_LIMIT_REFRESH_PER_SESSION is 30/60s in the test stack: use them up.
    for (let i = 0; i < 30; i++) expect(await auth.refresh()).toBe(true);
    expect(await rejection(auth.refresh())).toMatchObject({ code: 'rate_limited', status: 429 });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(auth.expiresAt! - 30_000); // within the lead: an early refresh is due
    expect((await auth.fetch(`${baseUrl()}/example/whoami`)).status).toBe(200);
    expect(refreshes()).toBe(32);
    expect(auth.user).not.toBeNull();
  });

  it('retries once after the server refuses the token, with a refreshed one', async () => {
    // The first request carries a token the service refuses (tampered in transit); the
    // client refreshes once and retries.
    let tamper = true;
    const calls: string[] = [];
    const refreshes = () => calls.filter((path) => path === '/auth/refresh').length;
    const { auth } = await signedIn('retry', {
      fetch: (input, init) => {
        const request = new Request(input, init);
        calls.push(new URL(request.url).pathname);
        if (tamper && request.url.endsWith('/example/whoami')) {
          tamper = false;
          request.headers.set('authorization', `${request.headers.get('authorization')}x`);
        }
        return fetch(request);
      },
    });
    const response = await auth.fetch(`${baseUrl()}/example/whoami`);
    expect(response.status).toBe(200);
    expect(calls.filter((path) => path === '/example/whoami')).toHaveLength(2);
    expect(refreshes()).toBe(1);
  });

  it('a revoked session: the request’s refused answer, and signedOut: revoked', async () => {
    const { auth, events, email } = await signedIn('revoked');
    // The same user on another device (not a tab of this app: no broadcast) ends every session.
    const other = sdk.createAuthClient({ baseUrl: baseUrl(), name: 'another-device' });
    await other.login({ email, password: PASSWORD });
    await other.logoutAll();
    const response = await auth.fetch(`${baseUrl()}/example/whoami`);
    expect(response.status).toBe(403);
    expect(events).toEqual(['signedIn', 'signedOut:revoked']);
    expect(auth.user).toBeNull();
  });

  it('keeps the refresh token in the app’s storage; a new client restores the session from it', async () => {
    const storage = memoryStorage();
    const { auth, email } = await signedIn('storage', { storage });
    expect(storage.value).toMatch(/\./);
    const first = storage.value;
    auth.close();
    const restored = client({ storage, name: 'another-app' });
    expect(await restored.auth.refresh()).toBe(true);
    expect(restored.events).toEqual(['signedIn']);
    expect(restored.auth.user?.email).toBe(email);
    expect(storage.value).not.toBe(first); // rotated
    await restored.auth.logout();
    expect(storage.value).toBeNull();
    expect(await client({ storage }).auth.refresh()).toBe(false);
  });

  it('a refresh token presented again after the grace interval: signedOut: reused', async () => {
    const storage = memoryStorage();
    const { auth } = await signedIn('reuse', { storage, name: 'reuse-a' });
    const copy = memoryStorage();
    copy.value = storage.value;
    expect(await auth.refresh()).toBe(true);
    await sleep(2500); // REFRESH_REUSE_INTERVAL_SECONDS is 2 in the test stack
    const stale = client({ storage: copy, name: 'reuse-b' });
    expect(await stale.auth.refresh()).toBe(false);
    // The stale copy was never signed in here; the session is gone for the original too.
    jumpPastExpiry(auth);
    const seen: string[] = [];
    auth.on('signedOut', (event) => seen.push(event.reason));
    expect(await auth.refresh()).toBe(false);
    expect(seen).toEqual([expect.stringMatching(/^(reused|revoked)$/)]);
  });

  it('two clients sharing one storage (two tabs without Web Locks): the other adopts the new state and hears the logout', async () => {
    const storage = memoryStorage();
    const name = `shared-${Math.random()}`;
    const a = client({ storage, name });
    const b = client({ storage, name });
    const email = uniqueEmail('tabs');
    await a.auth.register({ email, password: PASSWORD });
    await a.auth.login({ email, password: PASSWORD });
    await vi.waitFor(() => expect(b.auth.user?.email).toBe(email));
    expect(b.events).toEqual(['signedIn']);
    expect((await b.auth.fetch(`${baseUrl()}/example/whoami`)).status).toBe(200);
    expect(b.refreshes()).toBe(0);
    await a.auth.logout();
    await vi.waitFor(() => expect(b.events).toEqual(['signedIn', 'signedOut:logout']));
    a.auth.close();
    b.auth.close();
  });
});

describe('SDK: account routes', () => {
  it('email verification, password forgot / reset / change, account deletion', async () => {
    const mail = inbox(inject('stackMailUrl'));
    const { auth, email } = await signedIn('account');
    await mail.waitFor(email, 1);
    await auth.email.requestVerification();
    const verification = (await mail.waitFor(email, 2)).at(-1)!;
    const user = await auth.email.verify(tokenIn(verification));
    expect(user).toMatchObject({ email, emailVerified: true });
    await auth.email.resendVerification(email);

    await auth.password.change({ currentPassword: PASSWORD, newPassword: 'second password 2' });
    expect((await auth.me()).user.email).toBe(email);
    const before = (await mail.to(email)).length;
    await auth.password.forgot(email);
    const reset = (await mail.waitFor(email, before + 1)).find((m) => /reset your password/i.test(m.subject))!;
    await auth.password.reset({ token: tokenIn(reset), password: 'third password 3' });
    // A reset ends every session.
    expect((await auth.fetch(`${baseUrl()}/example/whoami`)).status).toBe(403);
    expect(auth.user).toBeNull();

    expect((await auth.login({ email, password: 'third password 3' })).status).toBe('signedIn');
    const newEmail = uniqueEmail('account-new');
    await auth.email.change({ newEmail, password: 'third password 3' });
    await mail.waitFor(newEmail, 1);
    await auth.account.delete({ password: 'third password 3' });
    expect(auth.user).toBeNull();
    expect(await rejection(auth.login({ email, password: 'third password 3' }))).toMatchObject({ code: 'invalid_credentials' });
  });

  it('revokes another session; revoking its own is a logout', async () => {
    const { auth, email, events } = await signedIn('revoke');
    const other = sdk.createAuthClient({ baseUrl: baseUrl(), name: 'another-device' });
    await other.login({ email, password: PASSWORD, device: { name: 'other' } });
    const sessions = await auth.sessions.list();
    const theirs = sessions.find((session) => !session.current)!;
    await auth.sessions.revoke(theirs.id);
    // The authorizer refuses its token (403) and its refresh fails: it is signed out.
    expect(await rejection(other.me())).toMatchObject({ code: 'invalid_token', status: 403 });
    expect(other.user).toBeNull();
    await auth.sessions.revoke(sessions.find((session) => session.current)!.id);
    expect(events).toEqual(['signedIn', 'signedOut:logout']);
    expect(await rejection(auth.sessions.revoke('x'.repeat(22)))).toMatchObject({ code: 'invalid_token' });
  });
});

describe('SDK: multi-factor', () => {
  it('enrolls TOTP, then a login answers the challenge, verify signs in at aal 2; step-up, recovery codes, disable', async () => {
    const { auth, email } = await signedIn('mfa');
    const enrollment = await auth.mfa.totp.enroll();
    expect(enrollment.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    const codes = await auth.mfa.totp.confirm(totpCode(enrollment.secret, stepAt(Date.now()) - 1));
    expect(codes).toHaveLength(10);
    await auth.logout();

    const challenge = await auth.login({ email, password: PASSWORD });
    expect(challenge).toMatchObject({ status: 'mfaRequired', methods: expect.arrayContaining(['totp', 'recovery_code']) });
    if (challenge.status !== 'mfaRequired') throw new Error('expected a challenge');
    expect(auth.user).toBeNull();
    expect(await rejection(auth.mfa.verify(challenge.mfaToken, { code: '000000' }))).toMatchObject({ code: 'invalid_code', status: 401 });
    const done = await auth.mfa.verify(challenge.mfaToken, { code: totpCode(enrollment.secret, stepAt(Date.now())) });
    expect(done.status).toBe('signedIn');
    expect((await auth.me()).session).toMatchObject({ aal: 2 });

    const fresh = await auth.mfa.regenerateRecoveryCodes();
    expect(fresh).toHaveLength(10);
    const refreshed: string[] = [];
    auth.on('refreshed', (event) => refreshed.push(event.sessionId));
    await auth.mfa.stepUp({ recoveryCode: fresh[0]! });
    expect(refreshed).toEqual([done.status === 'signedIn' ? done.sessionId : '']);
    expect((await auth.me()).session).toMatchObject({ aal: 2, amr: ['pwd', 'mfa'] });
    await auth.mfa.totp.disable(totpCode(enrollment.secret, stepAt(Date.now()) + 1));
    expect((await auth.me()).user.mfa.totp).toBe(false);
  });
});

// The WebAuthn ceremonies themselves (passkeys.register, passkeys.login, mfa.verify with a
// passkey) run in Chromium: tests/browser/passkeys.test.ts.
describe('SDK: clients of one Node process', () => {
  it('share no state unless given one name: one user\'s client never takes another\'s session', async () => {
    const idle = client({ storage: memoryStorage() });
    const other = await signedIn('neighbour');
    await other.auth.refresh();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(idle.auth.user).toBeNull();
    expect(idle.events).toEqual([]);
    idle.auth.close();
  });
});

describe('SDK: a wrong password or code is the caller\'s answer', () => {
  it('is not retried after a refresh (it would count twice against the limits)', async () => {
    const { auth, calls, refreshes } = await signedIn('wrong-input');
    await auth.mfa.totp.enroll();
    const before = calls.length;
    expect(await rejection(auth.mfa.totp.confirm('000000'))).toMatchObject({ code: 'invalid_code', status: 401 });
    expect(await rejection(auth.password.change({ currentPassword: 'not the password', newPassword: 'a new password 1' }))).toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(calls.slice(before)).toEqual(['/auth/mfa/totp/confirm', '/auth/password/change']);
    expect(refreshes()).toBe(0);
  });
});

describe('SDK: passkey management and security activity', () => {
  it('securityEvents.list(): the user’s activity, newest first', async () => {
    const { auth } = await signedIn('events');
    const events = await auth.securityEvents.list();
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatchObject({ type: expect.any(String), at: expect.any(String), ip: expect.any(String) });
  });

  it('passkeys.list() and passkeys.remove(): none yet, and an unknown id is not_found', async () => {
    const { auth } = await signedIn('passkeys');
    expect(await auth.passkeys.list()).toEqual([]);
    expect(await rejection(auth.passkeys.remove('no-such-passkey'))).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('the WebAuthn ceremonies need a browser: in Node passkeys.register() and passkeys.login() reject', async () => {
    const { auth } = await signedIn('ceremony');
    await expect(auth.passkeys.register()).rejects.toThrow();
    await expect(auth.passkeys.login()).rejects.toThrow();
  });
});
