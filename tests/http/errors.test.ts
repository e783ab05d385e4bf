import { describe, expect, it } from 'vitest';
import { api, expectError, login, PASSWORD, register, registerAndLogin, uniqueEmail, type ApiResponse } from './client';

/** Headers every answer of a handler carries (middy's security headers), success or error. */
const SECURITY_HEADERS: Record<string, string | RegExp> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'strict-transport-security': /max-age=\d+/,
  'content-security-policy': /frame-ancestors 'none'/,
  'referrer-policy': 'no-referrer',
};

function expectSecurityHeaders(response: ApiResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    const actual = response.headers.get(name);
    if (typeof value === 'string') expect(actual, name).toBe(value);
    else expect(actual, name).toMatch(value);
  }
  expect(response.headers.get('x-powered-by')).toBeNull();
}

/** `{error, message}` and nothing else; no stack trace or source location in the text. */
function expectCleanError(response: ApiResponse, status: number, code: string): void {
  expectError(response, status, code);
  expect(Object.keys(response.body).sort()).toEqual(['error', 'message']);
  for (const leak of ['at ', '.ts:', '.js:', 'Error:', 'node_modules']) expect(response.text).not.toContain(leak);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expectSecurityHeaders(response);
}

const post = (path: string, json: unknown) => api('POST', path, { json });

describe('the error table over HTTP', () => {
  it('register: a taken email (in any case or spacing) is 409 email_taken', async () => {
    const email = uniqueEmail('dup');
    await register(email);
    expectCleanError(await post('/auth/register', { email, password: PASSWORD }), 409, 'email_taken');
    expectCleanError(await post('/auth/register', { email: ` ${email.toUpperCase()} `, password: 'another password' }), 409, 'email_taken');
    // The first registration's password still holds.
    await login(email);
  });

  it('register: a password of 7 or 257 characters is 400 invalid_request; 8 and 256 are fine', async () => {
    expectCleanError(await post('/auth/register', { email: uniqueEmail('weak'), password: '1234567' }), 400, 'invalid_request');
    expectCleanError(await post('/auth/register', { email: uniqueEmail('long'), password: 'x'.repeat(257) }), 400, 'invalid_request');
    // Code points, not UTF-16 units: 7 astral characters are 14 units and still too short.
    expectCleanError(await post('/auth/register', { email: uniqueEmail('astral'), password: '😀'.repeat(7) }), 400, 'invalid_request');
    expect((await post('/auth/register', { email: uniqueEmail('min'), password: '12345678' })).status).toBe(201);
    const max = uniqueEmail('max');
    expect((await post('/auth/register', { email: max, password: 'y'.repeat(256) })).status).toBe(201);
    await login(max, 'y'.repeat(256));
  });

  it('login: unknown email and wrong password give the same status, body and headers', async () => {
    const email = uniqueEmail('creds');
    await register(email);
    const wrongPassword = await post('/auth/login', { email, password: 'not the password' });
    const unknownEmail = await post('/auth/login', { email: uniqueEmail('nobody'), password: 'not the password' });
    expectCleanError(wrongPassword, 401, 'invalid_credentials');
    expect(unknownEmail.status).toBe(wrongPassword.status);
    expect(unknownEmail.text).toBe(wrongPassword.text);
    const relevant = (response: ApiResponse) =>
      Object.fromEntries([...response.headers].filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)));
    expect(relevant(unknownEmail)).toEqual(relevant(wrongPassword));
    expect(unknownEmail.headers.get('www-authenticate')).toBeNull();
  });

  it('a body over 16384 bytes is 413 payload_too_large, checked before the content type', async () => {
    const big = JSON.stringify({ email: uniqueEmail('big'), password: 'p'.repeat(16_400) });
    expect(Buffer.byteLength(big)).toBeGreaterThan(16_384);
    expectCleanError(await api('POST', '/auth/login', { raw: big }), 413, 'payload_too_large');
    expectCleanError(await api('POST', '/auth/register', { raw: big }), 413, 'payload_too_large');
    expectCleanError(await api('POST', '/auth/refresh', { raw: big }), 413, 'payload_too_large');
    expectCleanError(await api('POST', '/auth/login', { raw: big, headers: { 'content-type': 'text/plain' } }), 413, 'payload_too_large');
    // Multi-byte characters count as bytes: 6000 × "€" is 18000 bytes but 6000 characters.
    const euros = JSON.stringify({ email: uniqueEmail('euro'), password: '€'.repeat(6_000) });
    expect(euros.length).toBeLessThan(16_384);
    expectCleanError(await api('POST', '/auth/register', { raw: euros }), 413, 'payload_too_large');
  });

  it('the 16384-byte limit is exact: 16384 bytes are parsed, 16385 are refused', async () => {
    const sized = (bytes: number) => {
      const head = JSON.stringify({ email: uniqueEmail('edge'), password: '' });
      const body = `${head.slice(0, -2)}${'q'.repeat(bytes - head.length)}"}`;
      expect(Buffer.byteLength(body)).toBe(bytes);
      return body;
    };
    // At the limit the body is read: the password is too long, so invalid_request.
    expectCleanError(await api('POST', '/auth/register', { raw: sized(16_384) }), 400, 'invalid_request');
    expectCleanError(await api('POST', '/auth/register', { raw: sized(16_385) }), 413, 'payload_too_large');
  });

  it('a body that is not application/json is 415 unsupported_media_type', async () => {
    const body = JSON.stringify({ email: uniqueEmail('ct'), password: PASSWORD });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expectCleanError(await api('POST', '/auth/register', { raw: body, headers: { 'content-type': contentType } }), 415, 'unsupported_media_type');
      expectCleanError(await api('POST', '/auth/login', { raw: body, headers: { 'content-type': contentType } }), 415, 'unsupported_media_type');
    }
    expectCleanError(await api('POST', '/auth/refresh', { raw: '{"refreshToken":"x"}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
  });

  it('application/json with a charset parameter is accepted', async () => {
    // (A body with no Content-Type at all cannot be tested here: serverless-offline fills in
    // application/json for payload 2.0 events, which API Gateway does not.)
    const body = JSON.stringify({ email: uniqueEmail('charset'), password: PASSWORD });
    const withCharset = await api('POST', '/auth/register', { raw: body, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(withCharset.status, withCharset.text).toBe(201);
  });

  it('concurrent registrations of one email: exactly one 201, the rest 409 email_taken', async () => {
    const email = uniqueEmail('race');
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => post('/auth/register', { email: i % 2 ? email.toUpperCase() : email, password: `${PASSWORD} ${i}` })),
    );
    expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 201)) expectCleanError(response, 409, 'email_taken');
    // The winner's password is the one that logs in.
    const winner = responses.findIndex((response) => response.status === 201);
    await login(email, `${PASSWORD} ${winner}`);
  });

  it('malformed or wrong-typed bodies are 400 invalid_request, naming the field', async () => {
    const email = uniqueEmail('shape');
    await register(email);
    const cases: { path: string; raw: string; field?: string }[] = [
      { path: '/auth/login', raw: '{"email":' },
      { path: '/auth/login', raw: 'not json' },
      { path: '/auth/login', raw: '' },
      { path: '/auth/login', raw: '[]' },
      { path: '/auth/login', raw: `[${JSON.stringify({ email, password: PASSWORD })}]` },
      { path: '/auth/login', raw: '42' },
      { path: '/auth/login', raw: 'null' },
      { path: '/auth/login', raw: '"a string"' },
      // Deeply nested (the parser may give up on it, but never with a 500).
      { path: '/auth/login', raw: `{"email":${'['.repeat(5_000)}${']'.repeat(5_000)}}` },
      { path: '/auth/login', raw: '{}', field: 'email' },
      { path: '/auth/login', raw: JSON.stringify({ email }), field: 'password' },
      { path: '/auth/login', raw: JSON.stringify({ password: PASSWORD }), field: 'email' },
      { path: '/auth/login', raw: JSON.stringify({ email: { $ne: null }, password: PASSWORD }), field: 'email' },
      { path: '/auth/login', raw: JSON.stringify({ email, password: { $ne: null } }), field: 'password' },
      { path: '/auth/login', raw: JSON.stringify({ email: [email], password: PASSWORD }), field: 'email' },
      { path: '/auth/login', raw: JSON.stringify({ email, password: 12345678 }), field: 'password' },
      { path: '/auth/login', raw: JSON.stringify({ email: 'not-an-email', password: PASSWORD }), field: 'email' },
      { path: '/auth/login', raw: JSON.stringify({ email, password: PASSWORD, device: 'laptop' }), field: 'device' },
      { path: '/auth/login', raw: JSON.stringify({ email, password: PASSWORD, device: { name: 7 } }), field: 'device.name' },
      { path: '/auth/register', raw: JSON.stringify({ email: { $ne: null }, password: PASSWORD }), field: 'email' },
      { path: '/auth/register', raw: JSON.stringify({ email: uniqueEmail('x'), password: true }), field: 'password' },
      { path: '/auth/register', raw: '[]' },
      { path: '/auth/register', raw: '{}', field: 'email' },
      { path: '/auth/refresh', raw: '{}', field: 'refreshToken' },
      { path: '/auth/refresh', raw: JSON.stringify({ refreshToken: 123 }), field: 'refreshToken' },
      { path: '/auth/refresh', raw: JSON.stringify({ refreshToken: { $gt: '' } }), field: 'refreshToken' },
      { path: '/auth/refresh', raw: '[1]' },
    ];
    for (const { path, raw, field } of cases) {
      const response = await api('POST', path, { raw });
      expect(response.status, `${path} ${raw.slice(0, 80)}`).toBe(400);
      expectCleanError(response, 400, 'invalid_request');
      if (field) expect(response.body.message, `${path} ${raw.slice(0, 80)}`).toContain(field);
    }
    // None of that locked the account or logged anyone in by accident.
    await login(email);
  });

  it('__proto__ (and constructor.prototype) in a body is 400 and creates nothing', async () => {
    const email = uniqueEmail('proto');
    const polluted = `{"email":"${email}","password":"${PASSWORD}","__proto__":{"isAdmin":true}}`;
    expectCleanError(await api('POST', '/auth/register', { raw: polluted }), 400, 'invalid_request');
    const nested = `{"email":"${email}","password":"${PASSWORD}","constructor":{"prototype":{"isAdmin":true}}}`;
    expectCleanError(await api('POST', '/auth/register', { raw: nested }), 400, 'invalid_request');
    // No user was created: its login fails, and the address is still free.
    expectCleanError(await post('/auth/login', { email, password: PASSWORD }), 401, 'invalid_credentials');
    const created = await post('/auth/register', { email, password: PASSWORD });
    expect(created.status, created.text).toBe(201);
    expect(created.body.user).not.toHaveProperty('isAdmin');
  });

  it('unknown extra fields are ignored and never reflected', async () => {
    const email = uniqueEmail('extra');
    const registered = await post('/auth/register', { email, password: PASSWORD, isAdmin: true, role: 'admin', id: 'chosen-id' });
    expect(registered.status, registered.text).toBe(201);
    expect(Object.keys(registered.body)).toEqual(['user']);
    expect(Object.keys(registered.body.user).sort()).toEqual(['createdAt', 'email', 'emailVerified', 'id', 'mfa', 'passkeys']);
    expect(registered.body.user.id).not.toBe('chosen-id');
    expect(registered.text).not.toContain('isAdmin');
    expect(registered.text).not.toContain('admin');

    const loggedIn = await post('/auth/login', { email, password: PASSWORD, remember: true, isAdmin: true, device: { name: 'tablet', os: 'x' } });
    expect(loggedIn.status, loggedIn.text).toBe(200);
    expect(loggedIn.body.user).toEqual({ id: registered.body.user.id, email });
    expect(loggedIn.text).not.toContain('isAdmin');
    const refreshed = await post('/auth/refresh', { refreshToken: loggedIn.body.refreshToken, sessionId: 'other' });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.body.sessionId).toBe(loggedIn.body.sessionId);
  });

  it('security headers on success and error answers; no-store on tokens; JWKS cacheable', async () => {
    const email = uniqueEmail('headers');
    const registered = await post('/auth/register', { email, password: PASSWORD });
    expect(registered.status).toBe(201);
    expectSecurityHeaders(registered);
    expect(registered.headers.get('cache-control')).toContain('no-store');

    const loggedIn = await post('/auth/login', { email, password: PASSWORD });
    expect(loggedIn.status).toBe(200);
    expectSecurityHeaders(loggedIn);
    expect(loggedIn.headers.get('cache-control')).toContain('no-store');

    const refreshed = await post('/auth/refresh', { refreshToken: loggedIn.body.refreshToken });
    expect(refreshed.status).toBe(200);
    expectSecurityHeaders(refreshed);
    expect(refreshed.headers.get('cache-control')).toContain('no-store');

    const who = await api('GET', '/auth/me', { token: refreshed.body.accessToken });
    expect(who.status).toBe(200);
    expectSecurityHeaders(who);
    expect(who.headers.get('cache-control')).toContain('no-store');

    const loggedOut = await api('POST', '/auth/logout', { token: refreshed.body.accessToken });
    expect(loggedOut.status).toBe(204);
    expectSecurityHeaders(loggedOut);
    expect(loggedOut.headers.get('cache-control')).toContain('no-store');

    expectCleanError(await post('/auth/login', { email, password: 'wrong password' }), 401, 'invalid_credentials');
    expectCleanError(await post('/auth/refresh', { refreshToken: 'nope' }), 401, 'invalid_token');

    const jwks = await api('GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expectSecurityHeaders(jwks);
    const maxAge = /(?:^|[\s,])max-age=(\d+)/.exec(jwks.headers.get('cache-control') ?? '');
    expect(Number(maxAge?.[1])).toBeGreaterThan(0);
    expect(jwks.headers.get('cache-control')).not.toContain('no-store');
    expect(jwks.headers.get('cache-control')).not.toContain('private');
    // Public keys only, one of them the key that signs the tokens.
    expect(Array.isArray(jwks.body.keys)).toBe(true);
    for (const key of jwks.body.keys) {
      expect(key).not.toHaveProperty('d');
      expect(key.kty).not.toBe('oct');
      expect(key.kid).toEqual(expect.any(String));
    }
    const kid = JSON.parse(Buffer.from(loggedIn.body.accessToken.split('.')[0], 'base64url').toString()).kid;
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toContain(kid);
  });

  it('429 rate_limited with Retry-After after 8 login attempts for one account, even with the right password', async () => {
    const email = uniqueEmail('limited');
    await register(email);
    const other = uniqueEmail('unlimited');
    await register(other);

    // The limit key is the normalized email: differently written, it is one account.
    const spellings = [email, email.toUpperCase(), ` ${email}`, `${email} `];
    for (let attempt = 0; attempt < 8; attempt++) {
      const response = await post('/auth/login', { email: spellings[attempt % spellings.length], password: `wrong password ${attempt}` });
      expectCleanError(response, 401, 'invalid_credentials');
    }
    const limited = await post('/auth/login', { email, password: PASSWORD });
    expectCleanError(limited, 429, 'rate_limited');
    const retryAfter = limited.headers.get('retry-after');
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);

    // Per account, not per client: another account from the same IP still logs in.
    await login(other);
  });

  it('429 rate_limited with Retry-After after 30 refreshes of one session within the window; nothing revoked', async () => {
    const session = await registerAndLogin('refresh-limit');
    let refreshToken = session.refreshToken;
    let accessToken = session.accessToken;
    for (let i = 0; i < 30; i++) {
      const response = await post('/auth/refresh', { refreshToken });
      expect(response.status, `refresh ${i + 1}: ${response.text}`).toBe(200);
      ({ refreshToken, accessToken } = response.body);
    }
    const limited = await post('/auth/refresh', { refreshToken });
    expectCleanError(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    // Being limited revokes nothing: the session's latest access token still works.
    expect((await api('GET', '/auth/me', { token: accessToken })).status).toBe(200);
    // Another session of another user is not limited.
    const other = await registerAndLogin('refresh-free');
    expect((await post('/auth/refresh', { refreshToken: other.refreshToken })).status).toBe(200);
  });

  it('wrong methods and unknown routes are never a 200', async () => {
    const checks: [string, string][] = [
      ['GET', '/auth/login'],
      ['GET', '/auth/register'],
      ['PUT', '/auth/me'],
      ['DELETE', '/auth/me'],
      ['GET', '/auth/refresh'],
      ['GET', '/auth/logout'],
      ['POST', '/auth/sessions'],
      ['POST', '/.well-known/jwks.json'],
      ['GET', '/auth/nope'],
      ['POST', '/auth/admin'],
      ['GET', '/auth/sessions/x/y'],
      ['GET', '/'],
    ];
    for (const [method, path] of checks) {
      const response = await api(method, path);
      expect(response.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${method} ${path}`).toBeLessThan(500);
    }
  });
});
