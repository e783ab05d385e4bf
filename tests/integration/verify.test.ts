import middy, { type MiddlewareObj } from '@middy/core';
import httpSecurityHeaders from '@middy/http-security-headers';
import { describe, expect, it } from 'vitest';
import { login, logout } from '../../lib/auth';
import { requireAccessToken, type AccessTokenContext } from '../../lib/middleware/require-access-token';
import { registerUser } from '../../lib/users/users';
import { createAccessTokenVerifier, verifyAccessToken } from '../../lib/verify';
import { createRedisClient } from '../../lib/store/redis';
import { createTestDeps, testContext } from '../support/deps';

async function setup() {
  const deps = await createTestDeps();
  await registerUser(deps, { email: 'svc@example.com', password: 'service-pass' }, testContext());
  const tokens = await login(deps, { email: 'svc@example.com', password: 'service-pass' }, testContext());
  const options = { jwks: deps.keyRing.jwks, issuer: deps.config.jwtIssuer, audience: deps.config.jwtAudience };
  return { deps, tokens, options };
}

describe('verifyAccessToken for services without API Gateway', () => {
  it('verifies signature and claims with the JWK Set alone', async () => {
    const { tokens, options } = await setup();
    const verify = createAccessTokenVerifier(options);
    expect(await verify(tokens.accessToken)).toMatchObject({ userId: tokens.user.id, sessionId: tokens.sessionId });
    expect(await verify(`${tokens.accessToken}x`)).toBeNull();
    expect(await verify(tokens.refreshToken)).toBeNull();
    expect(await createAccessTokenVerifier({ ...options, audience: 'someone-else' })(tokens.accessToken)).toBeNull();
  });

  it('has a one-call form, verifyAccessToken(token, options)', async () => {
    const { tokens, options } = await setup();
    expect(await verifyAccessToken(tokens.accessToken, options)).toMatchObject({ userId: tokens.user.id });
    expect(await verifyAccessToken(tokens.refreshToken, options)).toBeNull();
  });

  it('with the session check, refuses a revoked session at once (without it, only at expiry)', async () => {
    const { deps, tokens, options } = await setup();
    const withSession = createAccessTokenVerifier({ ...options, session: { redis: deps.redis, keyPrefix: deps.config.redisKeyPrefix } });
    const withoutSession = createAccessTokenVerifier(options);
    expect(await withSession(tokens.accessToken)).not.toBeNull();
    await logout(deps, { userId: tokens.user.id, sessionId: tokens.sessionId }, testContext());
    expect(await withSession(tokens.accessToken)).toBeNull();
    expect(await withoutSession(tokens.accessToken)).not.toBeNull();
  });

  it('fails closed when the session check cannot reach Redis', async () => {
    const { tokens, options } = await setup();
    const dead = createRedisClient({ url: 'http://127.0.0.1:9', token: 'x', timeoutMs: 500 });
    const verify = createAccessTokenVerifier({ ...options, session: { redis: dead } });
    await expect(verify(tokens.accessToken)).rejects.toMatchObject({ code: 'service_unavailable' });
  });
});

describe('requireAccessToken middy middleware', () => {
  type Event = { headers: Record<string, string> };
  const handlerFor = (verify: ReturnType<typeof createAccessTokenVerifier>) =>
    middy<Event, unknown, Error, AccessTokenContext>(async (_event: Event, context: AccessTokenContext) => ({
      statusCode: 200,
      body: context.auth.userId,
    })).use(requireAccessToken(verify));
  const lambdaContext = {} as never;

  it('lets a valid token through with context.auth set', async () => {
    const { tokens, options } = await setup();
    const result = await handlerFor(createAccessTokenVerifier(options))({ headers: { authorization: `Bearer ${tokens.accessToken}` } }, lambdaContext);
    expect(result).toEqual({ statusCode: 200, body: tokens.user.id });
  });

  it('accepts more than one space after Bearer (RFC 6750 §2.1: 1*SP), as the authorizer does', async () => {
    const { tokens, options } = await setup();
    const result = await handlerFor(createAccessTokenVerifier(options))({ headers: { authorization: `Bearer   ${tokens.accessToken}` } }, lambdaContext);
    expect(result).toEqual({ statusCode: 200, body: tokens.user.id });
  });

  it('answers 401 invalid_token without running the handler for a missing or bad token', async () => {
    const { tokens, options } = await setup();
    const handler = handlerFor(createAccessTokenVerifier(options));
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${tokens.refreshToken}` }, { authorization: `Basic ${tokens.accessToken}` }]) {
      const result = (await handler({ headers }, lambdaContext)) as { statusCode: number; body: string };
      expect(result.statusCode).toBe(401);
      expect(JSON.parse(result.body).error).toBe('invalid_token');
    }
  });

  it('answers 503 when the session check faults', async () => {
    const { tokens, options } = await setup();
    const dead = createRedisClient({ url: 'http://127.0.0.1:9', token: 'x', timeoutMs: 500 });
    const handler = handlerFor(createAccessTokenVerifier({ ...options, session: { redis: dead } }));
    const result = (await handler({ headers: { authorization: `Bearer ${tokens.accessToken}` } }, lambdaContext)) as { statusCode: number };
    expect(result.statusCode).toBe(503);
  });

  it('leaves the consumer’s stack whole on a 401: its security headers and its own onError middleware still apply', async () => {
    const { options } = await setup();
    // A consumer's CORS-like middleware: headers on success (after) and on failure (onError).
    const seen: unknown[] = [];
    const cors: MiddlewareObj<Event, { headers?: Record<string, string> } | undefined> = {
      after: async (request) => {
        request.response = { ...request.response, headers: { ...request.response?.headers, 'Access-Control-Allow-Origin': 'https://app.example.test' } };
      },
      onError: async (request) => {
        seen.push(request.error);
        if (request.response) request.response.headers = { ...request.response.headers, 'Access-Control-Allow-Origin': 'https://app.example.test' };
      },
    };
    let ran = false;
    const handler = middy(async () => {
      ran = true;
      return { statusCode: 200 };
    });
    handler
      .use(cors as MiddlewareObj)
      .use(httpSecurityHeaders() as MiddlewareObj)
      .use(requireAccessToken(createAccessTokenVerifier(options)) as MiddlewareObj);

    const result = (await handler({ headers: {} }, lambdaContext)) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(ran).toBe(false);
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body)).toEqual({ error: 'invalid_token', message: expect.any(String) });
    expect(result.headers['WWW-Authenticate']).toBe('Bearer');
    expect(result.headers['Cache-Control']).toBe('no-store');
    expect(result.headers['Access-Control-Allow-Origin']).toBe('https://app.example.test');
    expect(result.headers['Strict-Transport-Security']).toBeDefined();
    expect(result.headers['X-Content-Type-Options']).toBe('nosniff');
    // The error the consumer's middleware saw is a middy-style HTTP error.
    expect(seen).toEqual([expect.objectContaining({ statusCode: 401, expose: true, code: 'invalid_token' })]);
  });

  it('with requireAal: 2, a password-only token answers 403 step_up_required and the handler never runs; the verifier option refuses it', async () => {
    const { tokens, options } = await setup();
    let ran = false;
    const handler = middy<Event, unknown, Error, AccessTokenContext>(async () => {
      ran = true;
      return { statusCode: 200 };
    }).use(requireAccessToken(createAccessTokenVerifier(options), { requireAal: 2 }));
    const result = (await handler({ headers: { authorization: `Bearer ${tokens.accessToken}` } }, lambdaContext)) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body).error).toBe('step_up_required');
    expect(ran).toBe(false);
    expect(await createAccessTokenVerifier({ ...options, requireAal: 2 })(tokens.accessToken)).toBeNull();
    expect(await createAccessTokenVerifier(options)(tokens.accessToken)).toMatchObject({ aal: 1, amr: ['pwd'] });
  });
});
