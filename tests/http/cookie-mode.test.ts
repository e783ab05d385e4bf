import { describe, expect, it } from 'vitest';
import { api, expectDenied, expectError, me, PASSWORD, register, uniqueEmail } from './client';

/**
 * The cookie transport over HTTP (the browser test shows the same in Chromium): where the
 * refresh token goes, the cookie's attributes, the CSRF check and the CORS answer.
 * The stack allows exactly one origin: https://app.example.test.
 */
const APP = 'https://app.example.test';
const COOKIE = '__Secure-refresh-token';

async function cookieLogin() {
  const email = uniqueEmail('cookie');
  await register(email);
  const response = await api('POST', '/auth/login', { json: { email, password: PASSWORD, transport: 'cookie' }, headers: { origin: APP } });
  expect(response.status).toBe(200);
  return response;
}

function cookieOf(response: { headers: Headers }): string | undefined {
  return response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${COOKIE}=`));
}

function tokenIn(setCookie: string): string {
  return setCookie.slice(COOKIE.length + 1, setCookie.indexOf(';'));
}

const cookieRefresh = (token: string, headers: Record<string, string>) =>
  api('POST', '/auth/refresh', { headers: { cookie: `${COOKIE}=${token}`, ...headers } });

describe('cookie transport', () => {
  it('puts the refresh token only in an HttpOnly, Secure, SameSite=Strict, narrowly scoped cookie', async () => {
    const response = await cookieLogin();
    expect(response.body.refreshToken).toBeUndefined();
    expect(response.body.accessToken).toEqual(expect.any(String));
    const cookie = cookieOf(response)!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    expect(cookie).toMatch(/; Path=\/auth\/refresh/i);
    expect(cookie).not.toMatch(/Domain=/i);
    expect(Number(/Max-Age=(\d+)/i.exec(cookie)![1])).toBe(response.body.refreshExpiresIn);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('refreshes from the cookie alone for an allowlisted origin with X-Requested-With, rotating it', async () => {
    const login = await cookieLogin();
    const first = tokenIn(cookieOf(login)!);
    const response = await cookieRefresh(first, { origin: APP, 'x-requested-with': 'fetch' });
    expect(response.status).toBe(200);
    expect(response.body.refreshToken).toBeUndefined();
    const next = tokenIn(cookieOf(response)!);
    expect(next).not.toBe(first);
    expect((await me(response.body.accessToken)).status).toBe(200);
  });

  it('refuses a cookie-borne refresh (403, nothing rotated) without an allowed Origin or without X-Requested-With', async () => {
    const login = await cookieLogin();
    const token = tokenIn(cookieOf(login)!);
    for (const headers of [
      {} as Record<string, string>,
      { 'x-requested-with': 'fetch' },
      { origin: 'https://evil.example.test', 'x-requested-with': 'fetch' },
      { origin: 'null', 'x-requested-with': 'fetch' },
      { origin: APP },
    ]) {
      expectError(await cookieRefresh(token, headers), 403, 'forbidden');
    }
    // Still the current token: it rotates normally, and no reuse was triggered.
    expect((await cookieRefresh(token, { origin: APP, 'x-requested-with': 'fetch' })).status).toBe(200);
  });

  it('answers invalid_token for a body-less refresh without the cookie', async () => {
    expectError(await api('POST', '/auth/refresh', { headers: { origin: APP, 'x-requested-with': 'fetch' } }), 401, 'invalid_token');
  });

  it('refuses a request with two refresh cookies (400), rotating nothing and clearing nothing, whichever comes first', async () => {
    const victim = tokenIn(cookieOf(await cookieLogin())!);
    // A sibling subdomain planted one with Domain=: the attacker's own valid token, or garbage.
    const attacker = tokenIn(cookieOf(await cookieLogin())!);
    for (const planted of [attacker, 'garbage']) {
      for (const cookie of [`${COOKIE}=${planted}; ${COOKIE}=${victim}`, `${COOKIE}=${victim}; ${COOKIE}=${planted}`]) {
        const response = await api('POST', '/auth/refresh', { headers: { cookie, origin: APP, 'x-requested-with': 'fetch' } });
        expectError(response, 400, 'invalid_request');
        expect(cookieOf(response)).toBeUndefined(); // nothing set, nothing cleared
      }
    }
    // Neither token was rotated or revoked: each still refreshes on its own.
    for (const token of [victim, attacker]) expect((await cookieRefresh(token, { origin: APP, 'x-requested-with': 'fetch' })).status).toBe(200);
  });

  it('still detects reuse of a rotated cookie token after the grace interval', async () => {
    const login = await cookieLogin();
    const first = tokenIn(cookieOf(login)!);
    const rotated = await cookieRefresh(first, { origin: APP, 'x-requested-with': 'fetch' });
    await new Promise((resolve) => setTimeout(resolve, 2600));
    const reused = await cookieRefresh(first, { origin: APP, 'x-requested-with': 'fetch' });
    expectError(reused, 401, 'token_reused');
    expect(cookieOf(reused)).toMatch(/Max-Age=0/i); // the dead cookie is cleared
    expectDenied(await me(rotated.body.accessToken));
  });

  it('clears the cookie on logout and logout-all', async () => {
    for (const path of ['/auth/logout', '/auth/logout-all']) {
      const login = await cookieLogin();
      const response = await api('POST', path, { token: login.body.accessToken });
      expect(response.status).toBe(204);
      expect(cookieOf(response)).toMatch(/Max-Age=0/i);
    }
  });

  it('rejects an unknown transport with invalid_request', async () => {
    const email = uniqueEmail('cookie');
    await register(email);
    expectError(await api('POST', '/auth/login', { json: { email, password: PASSWORD, transport: 'localStorage' } }), 400, 'invalid_request');
  });

  // (serverless-offline, unlike API Gateway, echoes any Origin on non-preflight responses, so
  // only the preflight answer can be checked here; the CSRF check does not depend on CORS.)
  it('passes the CORS preflight of the allowed origin only', async () => {
    const preflight = await api('OPTIONS', '/auth/refresh', {
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-requested-with' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    const refused = await api('OPTIONS', '/auth/refresh', {
      headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-requested-with' },
    });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});
