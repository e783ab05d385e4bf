import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';

/**
 * openapi.yaml must describe what the running stack really answers: every response below
 * (success and error, from every route) is validated against the document's schema for its
 * route and status, and every documented operation must have been exercised.
 */
type Operation = { responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }> };
const document = parse(readFileSync(path.resolve(__dirname, '../../openapi.yaml'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: document.components });

const api = inject('apiUrl');
const exercised = new Set<string>();

function resolve<T>(value: T & { $ref?: string }): T {
  if (!value.$ref) return value;
  const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(value.$ref) ?? [];
  return document.components[section!]![name!] as T;
}

/** Re-roots `#/components/...` references at the registered document. */
function rebase(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
}

async function call(method: string, route: string, actualPath: string, init: { body?: unknown; token?: string; raw?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.raw !== undefined) body = init.raw;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
  const response = await fetch(`${api}${actualPath}`, { method, headers, body });
  const text = await response.text();
  const json: unknown = text === '' ? undefined : JSON.parse(text);

  const operation = document.paths[route]?.[method.toLowerCase()];
  expect(operation, `${method} ${route} is documented`).toBeDefined();
  const documented = operation!.responses[String(response.status)];
  expect(documented, `${method} ${route} documents status ${response.status}`).toBeDefined();
  const spec = resolve(documented!);
  const schema = spec.content?.['application/json']?.schema;
  if (schema) {
    const validate = ajv.compile(rebase(schema) as object);
    expect(validate(json), `${method} ${route} ${response.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  } else {
    expect(text, `${method} ${route} ${response.status} has no body`).toBe('');
  }
  for (const [name, header] of Object.entries(spec.headers ?? {})) {
    if (resolve(header as { required?: boolean }).required) expect(response.headers.get(name), `${name} header`).not.toBeNull();
  }
  exercised.add(`${method.toLowerCase()} ${route}`);
  return { status: response.status, json: json as Record<string, any> };
}

describe('openapi.yaml matches the running stack', () => {
  const email = `openapi-${Date.now()}@example.com`;
  const password = 'openapi password 1';

  afterAll(() => {
    const documented = Object.entries(document.paths).flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method} ${route}`));
    expect(documented.filter((operation) => !exercised.has(operation))).toEqual([]);
  });

  it('is OpenAPI 3.1', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it('describes every answer of the whole flow', async () => {
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email, password } })).status).toBe(201);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email, password } })).status).toBe(409);
    expect((await call('POST', '/auth/register', '/auth/register', { body: { email: 5, password } })).status).toBe(400);
    expect((await call('POST', '/auth/register', '/auth/register', { raw: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await call('POST', '/auth/register', '/auth/register', { raw: 'hello', contentType: 'text/plain' })).status).toBe(415);
    expect((await call('POST', '/auth/login', '/auth/login', { body: { email, password: 'wrong password' } })).status).toBe(401);
    expect((await call('POST', '/auth/login', '/auth/login', { raw: '{not json' })).status).toBe(400);

    const login = await call('POST', '/auth/login', '/auth/login', { body: { email, password, device: { name: 'openapi' } } });
    expect(login.status).toBe(200);
    const other = await call('POST', '/auth/login', '/auth/login', { body: { email, password } });
    const token = login.json.accessToken as string;

    expect((await call('GET', '/auth/me', '/auth/me', { token })).status).toBe(200);
    expect((await call('GET', '/auth/me', '/auth/me')).status).toBe(401);
    expect((await call('GET', '/auth/me', '/auth/me', { token: `${token}x` })).status).toBe(403);
    expect((await call('GET', '/auth/sessions', '/auth/sessions', { token })).status).toBe(200);
    expect((await call('DELETE', '/auth/sessions/{id}', '/auth/sessions/AAAAAAAAAAAAAAAAAAAAAA', { token })).status).toBe(404);
    expect((await call('DELETE', '/auth/sessions/{id}', `/auth/sessions/${other.json.sessionId}`, { token })).status).toBe(204);

    const refreshed = await call('POST', '/auth/refresh', '/auth/refresh', { body: { refreshToken: login.json.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { body: { refreshToken: 'nope' } })).status).toBe(401);
    expect((await call('POST', '/auth/refresh', '/auth/refresh', { body: {} })).status).toBe(400);

    expect((await call('GET', '/.well-known/jwks.json', '/.well-known/jwks.json')).status).toBe(200);
    expect((await call('POST', '/auth/logout', '/auth/logout', { token: refreshed.json.accessToken })).status).toBe(204);
    expect((await call('POST', '/auth/logout', '/auth/logout', { token: refreshed.json.accessToken })).status).toBe(403);

    const again = await call('POST', '/auth/login', '/auth/login', { body: { email, password } });
    expect((await call('POST', '/auth/logout-all', '/auth/logout-all', { token: again.json.accessToken })).status).toBe(204);
  });
});
