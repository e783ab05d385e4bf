import { describe, expect, inject, it } from 'vitest';
import {
  api,
  decodeJwtPart,
  expectDenied,
  expectError,
  login,
  me,
  PASSWORD,
  refresh,
  register,
  sleep,
  uniqueEmail,
  type TokenResponse,
} from './client';

/** HTTP_TEST_ENV's REFRESH_REUSE_INTERVAL_SECONDS is 2: wait past it, with a margin. */
const PAST_GRACE_MS = 2_600;

/** The token response of SPEC.md, exactly: no more keys, no fewer, the right types. */
function expectTokenResponse(body: unknown, user: { id: string; email: string }): asserts body is TokenResponse {
  expect(body).toEqual({
    accessToken: expect.any(String),
    refreshToken: expect.any(String),
    tokenType: 'Bearer',
    expiresIn: expect.any(Number),
    refreshExpiresIn: expect.any(Number),
    sessionId: expect.any(String),
    user: { id: user.id, email: user.email },
  });
  const tokens = body as TokenResponse;
  expect(Number.isInteger(tokens.expiresIn) && tokens.expiresIn > 0 && tokens.expiresIn <= 900).toBe(true);
  expect(Number.isInteger(tokens.refreshExpiresIn) && tokens.refreshExpiresIn > tokens.expiresIn).toBe(true);
  expect(tokens.accessToken).not.toBe(tokens.refreshToken);
  // Session ids carry at least 128 random bits: 22+ base64url characters.
  expect(tokens.sessionId).toMatch(/^[A-Za-z0-9_-]{22,}$/);

  // The access token is the JWT the contract describes (claims read, not verified, here).
  const header = decodeJwtPart(tokens.accessToken, 0);
  const claims = decodeJwtPart(tokens.accessToken, 1);
  expect(header).toMatchObject({ typ: 'at+jwt', alg: inject('stackEnv').JWT_ALGORITHM ?? 'EdDSA', kid: expect.any(String) });
  expect(claims).toMatchObject({
    iss: inject('stackEnv').JWT_ISSUER,
    aud: inject('stackEnv').JWT_AUDIENCE,
    sub: user.id,
    sid: tokens.sessionId,
    jti: expect.any(String),
    iat: expect.any(Number),
    exp: expect.any(Number),
  });
  expect((claims.exp as number) - (claims.iat as number)).toBe(tokens.expiresIn);
}

describe('the client flow', () => {
  it('register → login → me → refresh → reuse revokes the session → login → logout', async () => {
    // Register: 201, {user:{id,email,createdAt}}, the email trimmed and lower-cased.
    const email = uniqueEmail('flow');
    const registered = await api('POST', '/auth/register', { json: { email: `  ${email.toUpperCase()} `, password: PASSWORD } });
    expect(registered.status, registered.text).toBe(201);
    expect(registered.body).toEqual({ user: { id: expect.any(String), email, emailVerified: false, mfa: { totp: false }, passkeys: 0, createdAt: expect.any(String) } });
    const user = { id: registered.body.user.id as string, email };
    expect(new Date(registered.body.user.createdAt).toISOString()).toBe(registered.body.user.createdAt);
    expect(Math.abs(Date.parse(registered.body.user.createdAt) - Date.now())).toBeLessThan(60_000);

    // Login (with the email in another case): the token response, exactly, never cached.
    const loggedIn = await api('POST', '/auth/login', { json: { email: ` ${email.toUpperCase()}`, password: PASSWORD } });
    expect(loggedIn.status, loggedIn.text).toBe(200);
    expect(loggedIn.headers.get('cache-control')).toContain('no-store');
    expectTokenResponse(loggedIn.body, user);
    const first = loggedIn.body;

    // /auth/me: the caller's user and session.
    const who = await me(first.accessToken);
    expect(who.status, who.text).toBe(200);
    expect(who.body).toEqual({ user: registered.body.user, session: { id: first.sessionId, aal: 1, amr: ['pwd'] } });

    // An access token is never a refresh token.
    expectError(await refresh(first.accessToken), 401, 'invalid_token');

    // Refresh: 200, rotated, same session; the new tokens work.
    const refreshed = await refresh(first.refreshToken);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.headers.get('cache-control')).toContain('no-store');
    expectTokenResponse(refreshed.body, user);
    const second = refreshed.body;
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect((await me(second.accessToken)).status).toBe(200);

    // The old refresh token after the grace interval: token_reused, and the whole session is gone.
    await sleep(PAST_GRACE_MS);
    expectError(await refresh(first.refreshToken), 401, 'token_reused');
    expectDenied(await me(second.accessToken));
    expectDenied(await me(first.accessToken));
    const afterReuse = await refresh(second.refreshToken);
    expect(afterReuse.status, afterReuse.text).toBe(401);
    expect(['token_reused', 'invalid_token']).toContain(afterReuse.body?.error);

    // Login again: a new session, untouched by the revoked one.
    const again = await login(email);
    expect(again.sessionId).not.toBe(first.sessionId);
    expect((await me(again.accessToken)).status).toBe(200);

    // Logout: 204 with no body; the token is refused at once, its refresh token no longer refreshes.
    const loggedOut = await api('POST', '/auth/logout', { token: again.accessToken });
    expect(loggedOut.status, loggedOut.text).toBe(204);
    expect(loggedOut.text).toBe('');
    expectDenied(await me(again.accessToken));
    expectDenied(await api('POST', '/auth/logout', { token: again.accessToken }));
    const afterLogout = await refresh(again.refreshToken);
    expect(afterLogout.status, afterLogout.text).toBe(401);
    expect(['invalid_token', 'token_reused']).toContain(afterLogout.body?.error);
  });

  it('grace: concurrent refreshes of one token inside the interval all succeed in the same session', async () => {
    const email = uniqueEmail('grace');
    const user = await register(email);
    const session = await login(email);

    const [a, b] = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    expectTokenResponse(a.body, user);
    expectTokenResponse(b.body, user);
    expect(a.body.sessionId).toBe(session.sessionId);
    expect(b.body.sessionId).toBe(session.sessionId);

    // Nothing was revoked: each successor's access token works, and so does each refresh token.
    expect((await me(a.body.accessToken)).status).toBe(200);
    expect((await me(b.body.accessToken)).status).toBe(200);
    expect((await me(session.accessToken)).status).toBe(200);
    const fromA = await refresh(a.body.refreshToken);
    expect(fromA.status, fromA.text).toBe(200);
    const fromB = await refresh(b.body.refreshToken);
    expect(fromB.status, fromB.text).toBe(200);
    expect(fromB.body.sessionId).toBe(session.sessionId);
  });

  it('grace: a sequential replay inside the interval succeeds and revokes nothing', async () => {
    const { refreshToken, sessionId } = await login(await register(uniqueEmail('replay')).then((u) => u.email));
    const first = await refresh(refreshToken);
    expect(first.status, first.text).toBe(200);
    const replay = await refresh(refreshToken);
    expect(replay.status, replay.text).toBe(200);
    expect(replay.body.sessionId).toBe(sessionId);
    expect((await me(first.body.accessToken)).status).toBe(200);
    expect((await me(replay.body.accessToken)).status).toBe(200);
  });

  it('grace: a token rotated twice within its interval still refreshes in the same session', async () => {
    // SPEC: a rotated refresh token presented "inside a grace interval after its rotation"
    // succeeds and revokes nothing; only "after the grace interval" is it token_reused.
    // r1 was rotated less than 2 s ago here, even though its successor r2 was rotated too
    // (e.g. one browser tab refreshed twice while another still holds r1).
    const session = await login(await register(uniqueEmail('grace-chain')).then((u) => u.email));
    const r2 = await refresh(session.refreshToken);
    expect(r2.status, r2.text).toBe(200);
    const r3 = await refresh(r2.body.refreshToken);
    expect(r3.status, r3.text).toBe(200);
    const late = await refresh(session.refreshToken);
    expect(late.status, late.text).toBe(200);
    expect(late.body.sessionId).toBe(session.sessionId);
    expect((await me(r3.body.accessToken)).status).toBe(200);
  });

  it('reuse: a token rotated twice, presented after its interval, is token_reused and revokes the session', async () => {
    const session = await login(await register(uniqueEmail('reuse-chain')).then((u) => u.email));
    const r2 = await refresh(session.refreshToken);
    const r3 = await refresh(r2.body.refreshToken);
    expect(r3.status, r3.text).toBe(200);
    await sleep(PAST_GRACE_MS);
    expectError(await refresh(session.refreshToken), 401, 'token_reused');
    expectDenied(await me(r3.body.accessToken));
    const afterReuse = await refresh(r3.body.refreshToken);
    expect(afterReuse.status, afterReuse.text).toBe(401);
    expect(['token_reused', 'invalid_token']).toContain(afterReuse.body?.error);
  });

  it('refresh refuses garbage and unknown tokens with invalid_token and revokes nothing', async () => {
    const session = await login(await register(uniqueEmail('garbage')).then((u) => u.email));
    const [sessionId] = session.refreshToken.split('.');
    // Right session id, secret never issued: a stranger cannot revoke someone's session.
    const guessed = `${sessionId}.${'A'.repeat(43)}`;
    for (const token of ['nope', guessed, `${session.refreshToken}x`, `${'B'.repeat(22)}.${'C'.repeat(43)}`]) {
      expectError(await refresh(token), 401, 'invalid_token');
    }
    expect((await me(session.accessToken)).status).toBe(200);
    expect((await refresh(session.refreshToken)).status).toBe(200);
  });
});

describe('passwords', () => {
  const registerWith = (email: string, password: string) => api('POST', '/auth/register', { json: { email, password } });
  const loginWith = (email: string, password: string) => api('POST', '/auth/login', { json: { email, password } });

  it('are compared in NFKC form: composed and decomposed accents, ligatures, full-width digits are one password', async () => {
    const email = uniqueEmail('nfkc');
    const composed = 'caf\u00e9 \uff11\uff12\uff13 \ufb03'; // "café １２３ ﬃ"
    expect((await registerWith(email, composed)).status).toBe(201);
    for (const variant of ['cafe\u0301 123 ffi', composed.normalize('NFD'), 'caf\u00e9 123 ffi']) {
      const response = await loginWith(email, variant);
      expect(response.status, `${JSON.stringify(variant)}: ${response.text}`).toBe(200);
    }
    expectError(await loginWith(email, 'cafe 123 ffi'), 401, 'invalid_credentials');
  });

  it('length is counted in code points after NFKC (8 to 256)', async () => {
    // "ﬃ" is one code point that NFKC turns into three ("ffi").
    expect((await registerWith(uniqueEmail('lig-short'), '\ufb03'.repeat(3))).status).toBe(201); // 9 after NFKC
    expectError(await registerWith(uniqueEmail('lig-long'), '\ufb03'.repeat(86)), 400, 'invalid_request'); // 258 after NFKC
  });

  it('are never truncated: two passwords sharing their first 72 bytes are different passwords', async () => {
    const email = uniqueEmail('trunc');
    const prefix = 'p'.repeat(72);
    expect((await registerWith(email, `${prefix}-one`)).status).toBe(201);
    expectError(await loginWith(email, `${prefix}-two`), 401, 'invalid_credentials');
    expectError(await loginWith(email, prefix), 401, 'invalid_credentials');
    // Multi-byte: 24 × "€" is exactly 72 bytes.
    const euroEmail = uniqueEmail('trunc-euro');
    expect((await registerWith(euroEmail, `${'€'.repeat(24)}A`)).status).toBe(201);
    expectError(await loginWith(euroEmail, `${'€'.repeat(24)}B`), 401, 'invalid_credentials');
    expect((await loginWith(email, `${prefix}-one`)).status).toBe(200);
    expect((await loginWith(euroEmail, `${'€'.repeat(24)}A`)).status).toBe(200);
  });
});
