/**
 * AUTHORIZER_REVOCATION=stream end to end: a stack of its own (serverless-offline, the real
 * authorizer function and routes, redis-server or a Redis Cluster behind the gateway) in stream
 * mode. A logout, a logout-all and a revoke-one are denied by API Gateway's authorizer within
 * the bound of their answer; with the gateway gone, the authorizer keeps allowing from
 * memory at most REVOCATION_MAX_STALENESS_MS, then denies (GET /example/whoami needs no Redis, so
 * only the authorizer decides). SPEC "Revocation stream mode (v2)", docs/revocation.md.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStack, type Stack } from '../../dev/stack';
import { HTTP_TEST_ENV } from '../support/stack-setup';
import { PASSWORD, sleep, uniqueEmail, type TokenResponse } from './client';

const POLL_MS = 300;
const MAX_STALENESS_MS = 1500;
let stack: Stack;

beforeAll(async () => {
  // Ports of its own, beside the project's stack (http: TEST_HTTP_PORT, http-cluster: +10).
  const cluster = inject('stackEnv').DEV_REDIS === 'cluster';
  const port = Number(process.env.TEST_HTTP_PORT ?? 3100) + (cluster ? 30 : 20);
  stack = await startStack({
    port,
    lambdaPort: port + 2,
    output: process.env.TEST_STACK_OUTPUT === 'inherit' ? 'inherit' : 'ignore',
    persist: false,
    env: {
      ...HTTP_TEST_ENV,
      DEV_REDIS: cluster ? 'cluster' : 'single',
      REDIS_KEY_PREFIX: `test-${randomBytes(4).toString('hex')}:`,
      AUTHORIZER_REVOCATION: 'stream',
      REVOCATION_POLL_MS: String(POLL_MS),
      REVOCATION_MAX_STALENESS_MS: String(MAX_STALENESS_MS),
    },
  });
});

afterAll(() => stack?.stop());

async function call(method: string, path: string, token?: string, json?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function signIn(email: string): Promise<TokenResponse> {
  const response = await call('POST', '/auth/login', undefined, { email, password: PASSWORD });
  expect(response.status).toBe(200);
  return response.body as TokenResponse;
}

async function newUser(): Promise<{ email: string; tokens: TokenResponse }> {
  const email = uniqueEmail('stream');
  expect((await call('POST', '/auth/register', undefined, { email, password: PASSWORD })).status).toBe(201);
  return { email, tokens: await signIn(email) };
}

/** ms until GET /example/whoami with `token` is refused by the authorizer (fails past the bound). */
async function msUntilDenied(token: string, boundMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    // An allow is decided no earlier than `asked`.
    const asked = performance.now();
    const { status } = await call('GET', '/example/whoami', token);
    if (status === 403) return asked - started;
    expect(status).toBe(200);
    expect(asked - started).toBeLessThanOrEqual(boundMs);
    await sleep(20);
  }
}

describe('stream mode through API Gateway (serverless-offline)', () => {
  it('decides without a Redis request between polls', async () => {
    const { tokens } = await newUser();
    expect((await call('GET', '/example/whoami', tokens.accessToken)).status).toBe(200);
    stack.gateway.resetStats();
    const started = performance.now();
    for (let i = 0; i < 30; i++) expect((await call('GET', '/example/whoami', tokens.accessToken)).status).toBe(200);
    const polls = Math.ceil((performance.now() - started) / POLL_MS) + 1;
    const requests = Object.values(stack.gateway.stats().requests).reduce((sum, n) => sum + n, 0);
    // Strict mode would be 30; the polls of the elapsed time are the whole cost.
    expect(requests).toBeLessThanOrEqual(polls);
    expect(stack.gateway.stats().commands).toEqual(requests === 0 ? {} : { XRANGE: requests });
  });

  it('logout, revoke one and logout-all are denied within the bound of their answer', async () => {
    const { email, tokens } = await newUser();
    const second = await signIn(email);
    const third = await signIn(email);
    for (const t of [tokens, second, third]) expect((await call('GET', '/example/whoami', t.accessToken)).status).toBe(200);

    expect((await call('DELETE', `/auth/sessions/${third.sessionId}`, tokens.accessToken)).status).toBe(204);
    // Within the bound (normally the poll interval plus a poll's round trip).
    expect(await msUntilDenied(third.accessToken, MAX_STALENESS_MS)).toBeLessThanOrEqual(MAX_STALENESS_MS);

    expect((await call('POST', '/auth/logout', second.accessToken)).status).toBe(204);
    expect(await msUntilDenied(second.accessToken, MAX_STALENESS_MS)).toBeLessThanOrEqual(MAX_STALENESS_MS);
    expect((await call('GET', '/example/whoami', tokens.accessToken)).status).toBe(200);

    expect((await call('POST', '/auth/logout-all', tokens.accessToken)).status).toBe(204);
    expect(await msUntilDenied(tokens.accessToken, MAX_STALENESS_MS)).toBeLessThanOrEqual(MAX_STALENESS_MS);
    // And the refresh token is dead in Redis as in strict mode.
    expect((await call('POST', '/auth/refresh', undefined, { refreshToken: tokens.refreshToken })).status).toBe(401);
  });

  it('with Redis gone, the authorizer allows from memory at most REVOCATION_MAX_STALENESS_MS, then denies', async () => {
    const { tokens } = await newUser();
    expect((await call('GET', '/example/whoami', tokens.accessToken)).status).toBe(200);
    await stack.gateway.close();
    // No allow asked for more than the bound after the gateway went (its last good poll was before).
    const deniedAfter = await msUntilDenied(tokens.accessToken, MAX_STALENESS_MS);
    expect(deniedAfter).toBeLessThanOrEqual(MAX_STALENESS_MS + 500);
    expect((await call('GET', '/example/whoami', tokens.accessToken)).status).toBe(403);
  });
});
