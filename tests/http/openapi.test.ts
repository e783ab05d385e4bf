import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { inbox, tokenIn } from '../support/inbox';
import { softAuthenticator } from '../support/authenticator';
import { invokeAdmin } from './admin-client';
import { totpCode } from '../support/totp';

/**
 * openapi.yaml must describe what the running stack really answers, and what it really accepts:
 * - every JSON request body sent below is validated against the operation's documented request
 *   schema (and must pass for a request the stack accepts as well-formed, fail for one it refuses
 *   as malformed), and so are the documented header and cookie parameters sent;
 * - every response (success and error, from every route, both refresh-token transports) is
 *   validated against the document's schema for its route and status: the body, every
 *   documented header that is present (against its schema: `Cache-Control: no-store`, the
 *   refresh cookie's `Set-Cookie`, an integer `Retry-After`...), the presence of the required
 *   ones, and the headers a body shape requires (`x-required-headers`);
 * - every documented operation must have been exercised.
 */
type Schema = Record<string, unknown>;
type Ref = { $ref?: string };
type Header = Ref & { required?: boolean; schema?: Schema };
type Response = Ref & { content?: Record<string, { schema: Schema }>; headers?: Record<string, Header> };
type Parameter = Ref & { name: string; in: 'header' | 'cookie' | 'path' | 'query'; required?: boolean; schema?: Schema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: Ref & { required?: boolean; content?: Record<string, { schema: Schema }> };
  responses: Record<string, Response>;
};
const document = parse(readFileSync(path.resolve(__dirname, '../../openapi.yaml'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: document.components });
/** Header and cookie values are strings on the wire: `Retry-After: 3` is the integer 3. */
const headerAjv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
addFormats(headerAjv);
headerAjv.addSchema({ $id: 'openapi', components: document.components });

const api = inject('apiUrl');
const APP_ORIGIN = 'https://app.example.test';
const REFRESH_COOKIE = '__Secure-refresh-token';
const exercised = new Set<string>();

function resolve<T>(value: T & Ref): T {
  if (!value.$ref) return value;
  const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(value.$ref) ?? [];
  const target = document.components[section!]?.[name!];
  expect(target, `${value.$ref} exists`).toBeDefined();
  return resolve(target as T & Ref);
}

/** Re-roots `#/components/...` references at the registered document. */
function rebase(schema: unknown): object {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
}

const compiled = new Map<string, ValidateFunction>();
function validator(schema: unknown, forHeaders = false): ValidateFunction {
  const key = `${forHeaders}:${JSON.stringify(schema)}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = forHeaders
      ? headerAjv.compile({ type: 'object', required: ['value'], properties: { value: rebase(schema) } })
      : ajv.compile(rebase(schema));
    compiled.set(key, validate);
  }
  return validate;
}

function check(schema: unknown, value: unknown): string | null {
  const validate = validator(schema);
  return validate(value) ? null : ajv.errorsText(validate.errors);
}

function checkHeader(schema: unknown, value: string): string | null {
  const validate = validator(schema, true);
  return validate({ value }) ? null : headerAjv.errorsText(validate.errors);
}

function operationOf(method: string, route: string): Operation {
  const operation = document.paths[route]?.[method.toLowerCase()];
  expect(operation, `${method} ${route} is documented`).toBeDefined();
  return operation!;
}

/** The header's values as received: each `Set-Cookie` separately, any other one as one value. */
function headerValues(headers: Headers, name: string): string[] {
  if (name.toLowerCase() === 'set-cookie') return headers.getSetCookie();
  const value = headers.get(name);
  return value === null ? [] : [value];
}

/**
 * Everything wrong with a response, measured against the document: status, body, headers.
 * `variant` names a component schema the body must (also) be, e.g. the oneOf branch a
 * transport must produce. Used on real responses and on made-up ones (the self-checks).
 */
function responseProblems(method: string, route: string, status: number, text: string, headers: Headers, variant?: string): string[] {
  const label = `${method.toUpperCase()} ${route} ${status}`;
  const documented = operationOf(method, route).responses[String(status)];
  if (!documented) return [`${label}: status not documented`];
  const spec = resolve(documented);
  const problems: string[] = [];

  const schema = spec.content?.['application/json']?.schema;
  const requiredHeaders = new Set(Object.entries(spec.headers ?? {}).filter(([, h]) => resolve(h).required).map(([name]) => name));
  if (schema) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return [`${label}: body is not JSON: ${text.slice(0, 200)}`];
    }
    const error = check(schema, body);
    if (error) problems.push(`${label} body: ${error}`);
    // Headers that the body's shape requires: those of every oneOf branch the body is.
    const branches = ((resolve(schema as Schema & Ref) as { oneOf?: (Schema & Ref)[] }).oneOf ?? [schema as Schema & Ref]);
    for (const branch of branches) {
      if (check(branch, body) !== null) continue;
      for (const name of (resolve(branch)['x-required-headers'] as string[] | undefined) ?? []) requiredHeaders.add(name);
    }
    if (variant) {
      const variantError = check({ $ref: `#/components/schemas/${variant}` }, body);
      if (variantError) problems.push(`${label} body is not a ${variant}: ${variantError}`);
    }
  } else if (text !== '') {
    problems.push(`${label}: documented without a body, got ${text.slice(0, 200)}`);
  }

  for (const name of requiredHeaders) {
    if (headerValues(headers, name).length === 0) problems.push(`${label}: required header ${name} missing`);
  }
  for (const [name, header] of Object.entries(spec.headers ?? {})) {
    const headerSchema = resolve(header).schema;
    if (!headerSchema) continue;
    for (const value of headerValues(headers, name)) {
      const error = checkHeader(headerSchema, value);
      if (error) problems.push(`${label} header ${name}: ${JSON.stringify(value)}: ${error}`);
    }
  }
  return problems;
}

/** Everything wrong with a request, measured against the document: its JSON body and parameters. */
function requestProblems(operation: Operation, label: string, body: unknown, headers: Record<string, string>, bodyValid: boolean): string[] {
  const problems: string[] = [];
  if (body !== undefined) {
    const requestBody = operation.requestBody && resolve(operation.requestBody);
    const schema = requestBody?.content?.['application/json']?.schema;
    if (!schema) problems.push(`${label}: no documented JSON request body`);
    else {
      const error = check(schema, body);
      if (bodyValid && error) problems.push(`${label} request body: ${error}`);
      if (!bodyValid && !error) problems.push(`${label} request body ${JSON.stringify(body)} is valid per the document, but the stack refuses it as malformed`);
    }
  }
  const sent = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const cookies = new Map(
    (sent.get('cookie') ?? '')
      .split(';')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()] as const),
  );
  for (const parameter of (operation.parameters ?? []).map((p) => resolve(p))) {
    const value = parameter.in === 'header' ? sent.get(parameter.name.toLowerCase()) : parameter.in === 'cookie' ? cookies.get(parameter.name) : undefined;
    if (value === undefined || !parameter.schema) continue;
    const error = checkHeader(parameter.schema, value);
    if (error) problems.push(`${label} ${parameter.in} parameter ${parameter.name}: ${error}`);
  }
  return problems;
}

interface CallInit {
  /** Sent as JSON, and validated against the documented request schema. */
  body?: unknown;
  /** Sent as is (not validated: malformed on purpose). */
  raw?: string;
  contentType?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Whether `body` is well-formed per the document (default true); false for a request the stack must refuse with 400. */
  bodyValid?: boolean;
  /** A component schema the response body must be (a oneOf branch). */
  variant?: string;
}

async function call(method: string, route: string, actualPath: string, init: CallInit = {}) {
  const operation = operationOf(method, route);
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
  const label = `${method} ${route}`;
  expect(requestProblems(operation, label, init.body, headers, init.bodyValid ?? true)).toEqual([]);

  const response = await fetch(`${api}${actualPath}`, { method, headers, body });
  const text = await response.text();
  expect(responseProblems(method, route, response.status, text, response.headers, init.variant)).toEqual([]);
  if (init.bodyValid === false) expect(response.status, `${label}: a malformed request is refused`).toBe(400);
  exercised.add(`${method.toLowerCase()} ${route}`);
  return { status: response.status, headers: response.headers, json: (text === '' ? undefined : JSON.parse(text)) as Record<string, any> };
}

function refreshCookieOf(headers: Headers): string {
  const cookie = headers.getSetCookie().find((value) => value.startsWith(`${REFRESH_COOKIE}=`));
  expect(cookie, 'the refresh cookie is set').toBeDefined();
  return cookie!.slice(0, cookie!.indexOf(';'));
}

describe('openapi.yaml matches the running stack', () => {
  const stamp = Date.now();
  const email = `openapi-${stamp}@example.com`;
  const password = 'openapi password 1';

  afterAll(() => {
    const documented = Object.entries(document.paths).flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method} ${route}`));
    expect(documented.filter((operation) => !exercised.has(operation))).toEqual([]);
  });

  it('is OpenAPI 3.1', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it('declares security on every operation: the bearer scheme, or [] for a public one (redocly security-defined)', () => {
    const undeclared = Object.entries(document.paths).flatMap(([route, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => !Array.isArray((operation as { security?: unknown }).security))
        .map(([method]) => `${method} ${route}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('tells the two token responses apart by the refresh cookie, and both 401 shapes of /auth/me', () => {
    const tokens = {
      accessToken: 'a.b.c',
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshExpiresIn: 604800,
      sessionId: 'AAAAAAAAAAAAAAAAAAAAAA',
      user: { id: 'BBBBBBBBBBBBBBBBBBBBBB', email: 'someone@example.com' },
    };
    const refreshToken = `${'B'.repeat(22)}.${'A'.repeat(22)}.0.${'b'.repeat(42)}Q`;
    const noStore = () => new Headers({ 'cache-control': 'no-store' });
    const withCookie = (cookie: string) => {
      const headers = noStore();
      headers.append('set-cookie', cookie);
      return headers;
    };
    const cookie = `${REFRESH_COOKIE}=${refreshToken}; Path=/auth/refresh; Max-Age=604800; HttpOnly; Secure; SameSite=Strict`;
    const tokenProblems = (body: unknown, headers: Headers, variant?: string) =>
      responseProblems('post', '/auth/login', 200, JSON.stringify(body), headers, variant);

    expect(tokenProblems({ ...tokens, refreshToken }, noStore(), 'BodyTokenResponse')).toEqual([]);
    expect(tokenProblems(tokens, withCookie(cookie), 'CookieTokenResponse')).toEqual([]);
    // A body-mode answer that lost its refresh token (no cookie either) is not valid.
    expect(tokenProblems(tokens, noStore())).not.toEqual([]);
    expect(tokenProblems(tokens, noStore(), 'BodyTokenResponse')).not.toEqual([]);
    // Nor is one whose cookie is not the refresh cookie, or without no-store, or with a refresh token in both places.
    expect(tokenProblems(tokens, withCookie(`${REFRESH_COOKIE}=${refreshToken}; Path=/`))).not.toEqual([]);
    expect(tokenProblems({ ...tokens, refreshToken }, new Headers())).not.toEqual([]);
    expect(tokenProblems({ ...tokens, refreshToken }, withCookie(cookie), 'CookieTokenResponse')).not.toEqual([]);
    expect(tokenProblems(tokens, withCookie(cookie.replace('; HttpOnly', '')))).not.toEqual([]);
    expect(tokenProblems(tokens, withCookie(`${cookie}; Domain=example.com`))).not.toEqual([]);

    const me401 = (body: unknown) => responseProblems('get', '/auth/me', 401, JSON.stringify(body), new Headers());
    expect(me401({ message: 'Unauthorized' })).toEqual([]);
    expect(me401({ statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' })).toEqual([]);
    expect(me401({ error: 'invalid_token', message: 'The token is invalid, expired or revoked.' })).toEqual([]);
    expect(me401({ error: 'invalid_credentials', message: 'x' })).not.toEqual([]);
    expect(me401({ error: 'invalid_token' })).not.toEqual([]);

    const rateLimited = (headers: Headers) =>
      responseProblems('post', '/auth/login', 429, JSON.stringify({ error: 'rate_limited', message: 'x' }), headers);
    expect(rateLimited(new Headers({ 'cache-control': 'no-store', 'retry-after': '3' }))).toEqual([]);
    expect(rateLimited(new Headers({ 'cache-control': 'no-store' }))).not.toEqual([]);
    expect(rateLimited(new Headers({ 'cache-control': 'no-store', 'retry-after': 'soon' }))).not.toEqual([]);
  });

  it('describes every answer of the whole flow', async () => {
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email, password } })).status).toBe(201);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email, password } })).status).toBe(409);
    // Emails are trimmed and lower-cased, and need not be ASCII: the local part is kept in NFC,
    // the domain becomes its IDNA ASCII form (README "Emails, passwords and device names").
    const unicode = await call('POST', '/auth/register', '/auth/register', { body: { email: `  ÜNÍCODE-${stamp}@Exämple.COM `, password } });
    expect(unicode.status).toBe(201);
    expect(unicode.json.user.email).toBe(`ünícode-${stamp}@xn--exmple-cua.com`);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: 5, password }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: 'not an email', password }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: `short-${stamp}@example.com`, password: 'seven77' }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: `long-${stamp}@example.com`, password: 'é'.repeat(257) }, bodyValid: false })).status).toBe(400);
    // Exactly the limits (counted in code points: '😀' is two UTF-16 units, one character).
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: `min-${stamp}@example.com`, password: 'eight888' } })).status).toBe(201);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: `max-${stamp}@example.com`, password: '😀'.repeat(256) } })).status).toBe(201);
    expect((await call('POST', '/auth/register', '/auth/register', { raw: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await call('POST', '/auth/register', '/auth/register', { raw: 'hello', contentType: 'text/plain' })).status).toBe(415);

    expect((await call('POST', '/auth/login', '/auth/login', { body: { email, password: 'wrong password' } })).status).toBe(401);
    // Shorter than the registration minimum: well-formed at login, and just a wrong password.
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email, password: 'short' } })).status).toBe(401);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email, password: '' }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email, password: 'x'.repeat(257) }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email, password, transport: 'localStorage' }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/login', '/auth/login', { raw: '{not json' })).status).toBe(400);
    expect((await call('POST', '/auth/login', '/auth/login')).status).toBe(415);

    const login = await call('POST', '/auth/login', '/auth/login', {
      body: { email: ` ${email.toUpperCase()}`, password, device: { name: 'openapi' } },
      variant: 'BodyTokenResponse',
    });
    expect(login.status).toBe(200);
    // A device name longer than 100 characters is accepted (and kept to its first 100).
    const other = await call('POST', '/auth/login', '/auth/login', {
      body: { email, password, device: { name: 'd'.repeat(150) }, transport: 'body' },
      variant: 'BodyTokenResponse',
    });
    expect(other.status).toBe(200);
    const token = login.json.accessToken as string;

    expect((await call('GET', '/auth/me', '/auth/me', { token })).status).toBe(200);
    expect((await call('GET', '/auth/me', '/auth/me')).status).toBe(401);
    expect((await call('GET', '/auth/me', '/auth/me', { token: `${token}x` })).status).toBe(403);
    const sessions = await call('GET', '/auth/sessions', '/auth/sessions', { token });
    expect(sessions.status).toBe(200);
    expect(sessions.json.sessions.find((s: { id: string }) => s.id === other.json.sessionId).device.name).toBe('d'.repeat(100));
    expect((await call('DELETE', '/auth/sessions/{id}', '/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA', { token })).status).toBe(404);
    expect((await call('DELETE', '/auth/sessions/{id}', '/auth/sessions/not-a-session-id', { token })).status).toBe(404);
    const revoked = await call('DELETE', '/auth/sessions/{id}', `/auth/sessions/${other.json.sessionId}`, { token });
    expect(revoked.status).toBe(204);
    expect(revoked.headers.getSetCookie()).toEqual([]);

    const refreshed = await call('POST', '/auth/refresh', '/auth/refresh', { body: { refreshToken: login.json.refreshToken }, variant: 'BodyTokenResponse' });
    expect(refreshed.status).toBe(200);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { body: { refreshToken: 'nope' } })).status).toBe(401);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { body: {}, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { body: { refreshToken: '' }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { raw: '{"refreshToken":', })).status).toBe(400);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { raw: 'refreshToken=x', contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { raw: 'x'.repeat(20_000) })).status).toBe(413);

    expect((await call('GET', '/.well-known/jwks.json', '/.well-known/jwks.json')).status).toBe(200);
    expect((await call('GET', '/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server')).status).toBe(200);
    // The size guard answers before the handler: the session is not revoked.
    expect((await call('POST', '/auth/logout', '/auth/logout', { token: refreshed.json.accessToken, raw: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await call('GET', '/auth/me', '/auth/me', { token: refreshed.json.accessToken })).status).toBe(200);
    expect((await call('POST', '/auth/logout', '/auth/logout', { token: refreshed.json.accessToken })).status).toBe(204);
    expect((await call('POST', '/auth/logout', '/auth/logout', { token: refreshed.json.accessToken })).status).toBe(403);

    const again = await call('POST', '/auth/login', '/auth/login', { body: { email, password }, variant: 'BodyTokenResponse' });
    expect((await call('POST', '/auth/logout-all', '/auth/logout-all', { token: again.json.accessToken })).status).toBe(204);
  });

  it('describes the cookie transport: login, body-less refresh and its CSRF refusal', async () => {
    const cookieEmail = `openapi-cookie-${stamp}@example.com`;
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: cookieEmail, password } })).status).toBe(201);
    const login = await call('POST', '/auth/login', '/auth/login', {
      body: { email: cookieEmail, password, transport: 'cookie' },
      headers: { Origin: APP_ORIGIN },
      variant: 'CookieTokenResponse',
    });
    expect(login.status).toBe(200);
    const cookie = refreshCookieOf(login.headers);

    const refreshed = await call('POST', '/auth/refresh', '/auth/refresh', {
      headers: { Cookie: cookie, Origin: APP_ORIGIN, 'X-Requested-With': 'fetch' },
      variant: 'CookieTokenResponse',
    });
    expect(refreshed.status).toBe(200);
    const next = refreshCookieOf(refreshed.headers);
    expect(next).not.toBe(cookie);

    const refused = await call('POST', '/auth/refresh', '/auth/refresh', { headers: { Cookie: next, Origin: APP_ORIGIN } });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toBe('forbidden');
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { headers: { Cookie: next, 'X-Requested-With': 'fetch' } })).status).toBe(403);
    // No cookie at all: nothing to refresh.
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { headers: { Origin: APP_ORIGIN, 'X-Requested-With': 'fetch' } })).status).toBe(401);
    // The refused request rotated nothing: the cookie still refreshes (and a refresh by body answers the body form).
    const byBody = await call('POST', '/auth/refresh', '/auth/refresh', {
      body: { refreshToken: next.slice(REFRESH_COOKIE.length + 1) },
      variant: 'BodyTokenResponse',
    });
    expect(byBody.status).toBe(200);

    // Deleting one's own session is a logout, and clears the cookie.
    const own = await call('DELETE', '/auth/sessions/{id}', `/auth/sessions/${byBody.json.sessionId}`, { token: byBody.json.accessToken });
    expect(own.status).toBe(204);
    expect(own.headers.getSetCookie()).toHaveLength(1);
  });

  it('describes the rate limit (429 with Retry-After)', async () => {
    // The stack allows 8 login attempts per account per minute; unknown accounts count too.
    const limited = `openapi-limit-${stamp}@example.com`;
    let response: Awaited<ReturnType<typeof call>> | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      response = await call('POST', '/auth/login', '/auth/login', { body: { email: limited, password: 'wrong password' } });
      if (response.status !== 401) break;
    }
    expect(response!.status).toBe(429);
    expect(Number(response!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('describes the account lifecycle by email, each link read from the stack’s real inbox and followed', async () => {
    const mail = inbox(inject('stackMailUrl'));
    const address = `openapi-life-${stamp}@example.com`;
    const first = 'lifecycle password 1';
    const second = 'lifecycle password 2';
    const third = 'lifecycle password 3';

    const registered = await call('POST', '/auth/register', '/auth/register', { body: { email: address, password: first } });
    expect(registered.json.user.emailVerified).toBe(false);
    const verifyLink = tokenIn((await mail.waitFor(address))[0]!);
    expect((await call('POST', '/auth/email/verify', '/auth/email/verify', { body: { token: 'garbage' } })).status).toBe(401);
    expect((await call('POST', '/auth/email/verify', '/auth/email/verify', { body: {}, bodyValid: false })).status).toBe(400);
    const verified = await call('POST', '/auth/email/verify', '/auth/email/verify', { body: { token: verifyLink } });
    expect(verified.status).toBe(200);
    expect(verified.json.user).toMatchObject({ email: address, emailVerified: true });

    let session = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: first } });
    const other = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: first } });
    expect((await call('GET', '/auth/me', '/auth/me', { token: session.json.accessToken })).json.user.emailVerified).toBe(true);
    expect((await call('POST', '/auth/email/verify/request', '/auth/email/verify/request', { token: session.json.accessToken })).status).toBe(202);
    expect((await call('POST', '/auth/email/verify/request', '/auth/email/verify/request', {})).status).toBe(401);
    expect((await call('POST', '/auth/email/verify/resend', '/auth/email/verify/resend', { body: { email: `nobody-${stamp}@example.com` } })).status).toBe(202);
    expect((await call('POST', '/auth/email/verify/resend', '/auth/email/verify/resend', { body: { email: 'not an email' }, bodyValid: false })).status).toBe(400);

    // Change: the caller's session stays, the other one goes.
    expect((await call('POST', '/auth/password/change', '/auth/password/change', { token: session.json.accessToken, body: { currentPassword: 'wrong password', newPassword: second } })).status).toBe(401);
    expect((await call('POST', '/auth/password/change', '/auth/password/change', { token: session.json.accessToken, body: { currentPassword: first, newPassword: second } })).status).toBe(204);
    expect((await call('GET', '/auth/me', '/auth/me', { token: session.json.accessToken })).status).toBe(200);
    expect((await call('GET', '/auth/me', '/auth/me', { token: other.json.accessToken })).status).toBe(403);
    expect((await mail.waitFor(address, 2)).at(-1)!.subject).toMatch(/password was changed/i);

    // Forgot and reset: every session goes, the new password signs in.
    expect((await call('POST', '/auth/password/forgot', '/auth/password/forgot', { body: { email: address } })).status).toBe(202);
    expect((await call('POST', '/auth/password/forgot', '/auth/password/forgot', { body: { email: `nobody-${stamp}@example.com` } })).status).toBe(202);
    const resetLink = tokenIn((await mail.waitFor(address, 3)).at(-1)!);
    expect((await call('POST', '/auth/password/reset', '/auth/password/reset', { body: { token: resetLink, password: 'short' }, bodyValid: false })).status).toBe(400);
    expect((await call('POST', '/auth/password/reset', '/auth/password/reset', { body: { token: resetLink, password: third } })).status).toBe(204);
    expect((await call('POST', '/auth/password/reset', '/auth/password/reset', { body: { token: resetLink, password: third } })).status).toBe(401);
    expect((await call('GET', '/auth/me', '/auth/me', { token: session.json.accessToken })).status).toBe(403);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: second } })).status).toBe(401);
    session = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: third } });
    expect(session.status).toBe(200);

    // Email change: confirmed through the new address's link.
    const moved = `openapi-moved-${stamp}@example.com`;
    expect((await call('POST', '/auth/email/change', '/auth/email/change', { token: session.json.accessToken, body: { newEmail: moved, password: 'wrong password' } })).status).toBe(401);
    expect((await call('POST', '/auth/email/change', '/auth/email/change', { token: session.json.accessToken, body: { newEmail: moved, password: third } })).status).toBe(202);
    const changed = await call('POST', '/auth/email/verify', '/auth/email/verify', { body: { token: tokenIn((await mail.waitFor(moved))[0]!) } });
    expect(changed.json.user).toMatchObject({ email: moved, emailVerified: true });
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: third } })).status).toBe(401);

    // Deletion: the password, then nothing is left; the address can register again.
    expect((await call('DELETE', '/auth/account', '/auth/account', { token: session.json.accessToken, body: { password: 'wrong password' } })).status).toBe(401);
    expect((await call('DELETE', '/auth/account', '/auth/account', { token: session.json.accessToken, body: { password: third } })).status).toBe(204);
    expect((await call('GET', '/auth/me', '/auth/me', { token: session.json.accessToken })).status).toBe(403);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email: moved, password: third } })).status).toBe(401);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: moved, password: third } })).status).toBe(201);
  });

  it('describes MFA: enroll, confirm, the login challenge, verify, step-up, recovery codes, disable (codes computed by the test)', async () => {
    const address = `openapi-mfa-${stamp}@example.com`;
    const secretPassword = 'mfa password 1';
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: address, password: secretPassword } })).status).toBe(201);
    const session = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: secretPassword }, variant: 'BodyTokenResponse' });
    const token = session.json.accessToken as string;

    const enrolled = await call('POST', '/auth/mfa/totp/enroll', '/auth/mfa/totp/enroll', { token });
    expect(enrolled.status).toBe(200);
    const secret = enrolled.json.secret as string;
    expect((await call('POST', '/auth/mfa/totp/enroll', '/auth/mfa/totp/enroll', {})).status).toBe(401);
    expect((await call('POST', '/auth/mfa/totp/confirm', '/auth/mfa/totp/confirm', { token, body: { code: '000000' } })).status).toBe(401);
    const now = () => Math.floor(Date.now() / 30_000);
    // Each code is of a later step than the last accepted one (a step is accepted once): the
    // previous step's code (skew −1) confirms, the current one verifies, the next one disables.
    const confirmed = await call('POST', '/auth/mfa/totp/confirm', '/auth/mfa/totp/confirm', { token, body: { code: totpCode(secret, now() - 1) } });
    expect(confirmed.status).toBe(200);
    const recoveryCodes = confirmed.json.recoveryCodes as string[];

    // Login: the challenge, no tokens.
    const challenge = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: secretPassword }, variant: 'MfaChallenge' });
    expect(challenge.json).toMatchObject({ mfaRequired: true });
    expect((await call('POST', '/auth/mfa/verify', '/auth/mfa/verify', { body: { mfaToken: challenge.json.mfaToken, code: '000000' } })).status).toBe(401);
    const verified = await call('POST', '/auth/mfa/verify', '/auth/mfa/verify', { body: { mfaToken: challenge.json.mfaToken, code: totpCode(secret, now()) }, variant: 'BodyTokenResponse' });
    expect(verified.status).toBe(200);
    const me2 = await call('GET', '/auth/me', '/auth/me', { token: verified.json.accessToken });
    expect(me2.json.session).toMatchObject({ aal: 2, amr: ['pwd', 'otp'] });
    expect(me2.json.user.mfa).toEqual({ totp: true });

    // A recovery code finishes a login once.
    const second = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: secretPassword }, variant: 'MfaChallenge' });
    const byCode = await call('POST', '/auth/mfa/verify', '/auth/mfa/verify', { body: { mfaToken: second.json.mfaToken, recoveryCode: recoveryCodes[0] }, variant: 'BodyTokenResponse' });
    expect(byCode.status).toBe(200);

    // Step-up, new recovery codes, then off.
    const stepped = await call('POST', '/auth/mfa/step-up', '/auth/mfa/step-up', { token: byCode.json.accessToken, body: { recoveryCode: recoveryCodes[1] }, variant: 'BodyTokenResponse' });
    expect(stepped.status).toBe(200);
    expect((await call('POST', '/auth/mfa/step-up', '/auth/mfa/step-up', { token: stepped.json.accessToken, body: { recoveryCode: recoveryCodes[1] } })).status).toBe(401);
    const regenerated = await call('POST', '/auth/mfa/recovery-codes', '/auth/mfa/recovery-codes', { token: stepped.json.accessToken });
    expect(regenerated.status).toBe(200);
    expect((await call('DELETE', '/auth/mfa/totp', '/auth/mfa/totp', { token: stepped.json.accessToken, body: { code: '000000' } })).status).toBe(401);
    expect((await call('DELETE', '/auth/mfa/totp', '/auth/mfa/totp', { token: stepped.json.accessToken, body: { code: totpCode(secret, now() - 1) } })).status).toBe(401); // used
    expect((await call('DELETE', '/auth/mfa/totp', '/auth/mfa/totp', { token: stepped.json.accessToken, body: { code: totpCode(secret, now() + 1) } })).status).toBe(204);
    expect((await call('POST', '/auth/mfa/recovery-codes', '/auth/mfa/recovery-codes', { token: stepped.json.accessToken })).status).toBe(400);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: secretPassword }, variant: 'BodyTokenResponse' })).status).toBe(200);
  });

  it('describes passkeys: register, list, sign in (discoverable and by email), the MFA challenge, delete (a software authenticator)', async () => {
    const address = `openapi-passkey-${stamp}@example.com`;
    const secretPassword = 'passkey password 1';
    // The stack's relying party is localhost, its origins the API's own (dev/stack.ts).
    const authenticator = softAuthenticator({ origin: new URL(api).origin.replace('127.0.0.1', 'localhost') });
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: address, password: secretPassword } })).status).toBe(201);
    const session = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: secretPassword }, variant: 'BodyTokenResponse' });
    const token = session.json.accessToken as string;

    expect((await call('POST', '/auth/passkeys/register/options', '/auth/passkeys/register/options', {})).status).toBe(401);
    const creation = await call('POST', '/auth/passkeys/register/options', '/auth/passkeys/register/options', { token });
    expect(creation.status).toBe(200);
    expect((await call('POST', '/auth/passkeys/register', '/auth/passkeys/register', { token, body: { name: 42, response: {} }, bodyValid: false })).status).toBe(400);
    const registered = await call('POST', '/auth/passkeys/register', '/auth/passkeys/register', { token, body: { response: authenticator.create(creation.json as never), name: 'Test key' } });
    expect(registered.status).toBe(201);
    expect((await call('POST', '/auth/passkeys/register', '/auth/passkeys/register', { token, body: { response: authenticator.create(creation.json as never) } })).status).toBe(401); // used
    const passkeyId = registered.json.passkey.id as string;
    expect((await call('GET', '/auth/passkeys', '/auth/passkeys', { token })).json.passkeys).toEqual([registered.json.passkey]);
    expect((await call('GET', '/auth/me', '/auth/me', { token })).json.user.passkeys).toBe(1);

    const discoverable = await call('POST', '/auth/passkeys/login/options', '/auth/passkeys/login/options', { body: {} });
    expect(discoverable.status).toBe(200);
    const signedIn = await call('POST', '/auth/passkeys/login', '/auth/passkeys/login', {
      body: { challengeId: discoverable.json.challengeId, response: authenticator.get(discoverable.json as never), device: { name: 'openapi' } },
      variant: 'BodyTokenResponse',
    });
    expect(signedIn.status).toBe(200);
    expect((await call('GET', '/auth/me', '/auth/me', { token: signedIn.json.accessToken })).json.session).toMatchObject({ aal: 2, amr: ['hwk', 'user'] });
    expect((await call('POST', '/auth/passkeys/login', '/auth/passkeys/login', { body: { challengeId: discoverable.json.challengeId, response: authenticator.get(discoverable.json as never) } })).status).toBe(401);
    expect((await call('POST', '/auth/passkeys/login', '/auth/passkeys/login', { body: { challengeId: 'x' }, bodyValid: false })).status).toBe(400);
    const hinted = await call('POST', '/auth/passkeys/login/options', '/auth/passkeys/login/options', { body: { email: address } });
    const cookieLogin = await call('POST', '/auth/passkeys/login', '/auth/passkeys/login', {
      body: { challengeId: hinted.json.challengeId, response: authenticator.get(hinted.json as never), transport: 'cookie' },
      variant: 'CookieTokenResponse',
    });
    expect(cookieLogin.status).toBe(200);

    // With TOTP on, a password login's challenge offers the passkey.
    const enrolled = await call('POST', '/auth/mfa/totp/enroll', '/auth/mfa/totp/enroll', { token });
    const now = () => Math.floor(Date.now() / 30_000);
    expect((await call('POST', '/auth/mfa/totp/confirm', '/auth/mfa/totp/confirm', { token, body: { code: totpCode(enrolled.json.secret, now()) } })).status).toBe(200);
    const challenge = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: secretPassword }, variant: 'MfaChallenge' });
    expect(challenge.json.methods).toEqual(['totp', 'recovery_code', 'passkey']);
    expect((await call('POST', '/auth/mfa/passkey/options', '/auth/mfa/passkey/options', { body: { mfaToken: 'nope' } })).status).toBe(401);
    const mfaOptions = await call('POST', '/auth/mfa/passkey/options', '/auth/mfa/passkey/options', { body: { mfaToken: challenge.json.mfaToken } });
    expect(mfaOptions.status).toBe(200);
    const verified = await call('POST', '/auth/mfa/verify', '/auth/mfa/verify', {
      body: { mfaToken: challenge.json.mfaToken, passkey: { challengeId: mfaOptions.json.challengeId, response: authenticator.get(mfaOptions.json as never) } },
      variant: 'BodyTokenResponse',
    });
    expect(verified.status).toBe(200);
    expect((await call('GET', '/auth/me', '/auth/me', { token: verified.json.accessToken })).json.session).toMatchObject({ aal: 2, amr: ['pwd', 'hwk'] });

    // Removal needs sudo mode: the passkey session is aal 2 and fresh.
    expect((await call('DELETE', '/auth/passkeys/{id}', '/auth/passkeys/nope', { token: verified.json.accessToken })).status).toBe(404);
    expect((await call('DELETE', '/auth/passkeys/{id}', `/auth/passkeys/${passkeyId}`, { token: verified.json.accessToken })).status).toBe(204);
    const after = await call('POST', '/auth/passkeys/login/options', '/auth/passkeys/login/options', { body: {} });
    expect((await call('POST', '/auth/passkeys/login', '/auth/passkeys/login', { body: { challengeId: after.json.challengeId, response: authenticator.get(after.json as never) } })).status).toBe(401);
  });

  it('describes the security activity, and login of an account an administrator disabled (403 account_disabled)', async () => {
    const address = `openapi-events-${stamp}@example.com`;
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: address, password } })).status).toBe(201);
    const session = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password, device: { name: 'OpenAPI' } }, variant: 'BodyTokenResponse' });
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email: address, password: 'wrong password' } })).status).toBe(401);
    const events = await call('GET', '/auth/security-events', '/auth/security-events', { token: session.json.accessToken });
    expect(events.status).toBe(200);
    expect(events.json.events.map((event: { type: string }) => event.type)).toEqual(['login_failed', 'login_ok']);
    expect((await call('GET', '/auth/security-events', '/auth/security-events')).status).toBe(401);

    expect((await invokeAdmin({ action: 'disableUser', actor: 'openapi-test', userId: session.json.user.id })).result.user.disabled).toBe(true);
    expect((await call('GET', '/auth/security-events', '/auth/security-events', { token: session.json.accessToken })).status).toBe(403);
    const refused = await call('POST', '/auth/login', '/auth/login', { body: { email: address, password } });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toBe('account_disabled');
  });
});
