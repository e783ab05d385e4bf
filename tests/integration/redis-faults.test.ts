/**
 * Redis faults, each on a redis-server + gateway of the test's own (the shared one is never
 * stopped): every operation fails closed with `service_unavailable` and a Retry-After, fast
 * (under 3 s) whether Redis is down, the endpoint refuses connections or it hangs; a refresh
 * that failed consumes nothing; a reply lost after Redis committed is recovered by the grace
 * interval; the authorizer handler denies.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  authorize,
  listMySessions,
  login,
  logout,
  logoutAll,
  me,
  refresh,
  register,
  revokeMySession,
  type TokenResponse,
} from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { AuthError, StoreUnavailableError } from '../../lib/errors';
import { createTestClock, createTestDeps, TEST_AUTH_SECRET, testContext } from '../support/deps';
import {
  captureLogger,
  expectAuthError,
  flatToRecord,
  outcomeOf,
  PASSWORD,
  registerAndLogin,
  startBlackHole,
  startLossyProxy,
  startOwnStore,
  timed,
  uniqueEmail,
  type OwnStore,
} from './helpers';

/** The contract's bound for a fault, with the defaults (REDIS_TIMEOUT_MS=1000, one retry). */
const FAIL_FAST_MS = 3_000;

const LIMITS_ON = {
  RATE_LIMIT_LOGIN_PER_IP: '1000/60s',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000/60s',
  RATE_LIMIT_REGISTER_PER_IP: '1000/60s',
  RATE_LIMIT_REFRESH_PER_SESSION: '1000/60s',
};

let store: OwnStore | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await store?.stop();
  store = undefined;
});

async function depsOn(env: Record<string, string>, base?: Deps): Promise<Deps> {
  return createTestDeps(
    { ...LIMITS_ON, ...(base ? { REDIS_KEY_PREFIX: base.config.redisKeyPrefix } : {}), ...env },
    { clock: createTestClock(), logger: captureLogger() },
  );
}

/** Every store-backed operation of lib/auth.ts, with inputs that would succeed on a healthy store. */
function everyOperation(deps: Deps, live: { email: string; tokens: TokenResponse }): Record<string, () => Promise<unknown>> {
  const principal = { userId: live.tokens.user.id, sessionId: live.tokens.sessionId };
  return {
    login: () => login(deps, { email: live.email, password: PASSWORD }, testContext()),
    register: () => register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext()),
    refresh: () => refresh(deps, live.tokens.refreshToken, testContext()),
    logout: () => logout(deps, principal, testContext()),
    logoutAll: () => logoutAll(deps, principal, testContext()),
    listMySessions: () => listMySessions(deps, principal),
    revokeMySession: () => revokeMySession(deps, principal, live.tokens.sessionId, testContext()),
    me: () => me(deps, principal),
    authorize: () => authorize(deps, live.tokens.accessToken),
  };
}

/** Runs every operation at once (each timed on its own) and checks each failed closed, fast. */
async function expectAllFailClosed(deps: Deps, live: { email: string; tokens: TokenResponse }): Promise<void> {
  const operations = Object.entries(everyOperation(deps, live));
  const results = await Promise.all(operations.map(async ([name, run]) => ({ name, ...(await timed(run)) })));
  for (const { name, ms, value, error } of results) {
    expect(value, `${name} must not succeed (or issue a token) on a store fault`).toBeUndefined();
    expect(error, `${name} failed with ${String(error)}`).toBeInstanceOf(AuthError);
    expect((error as AuthError).code, name).toBe('service_unavailable');
    expect((error as AuthError).retryAfterSeconds, name).toBeGreaterThanOrEqual(1);
    expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(FAIL_FAST_MS);
  }
}

describe('redis-server stopped', () => {
  it('authorize() with a valid token throws StoreUnavailableError within 3 s (the authorizer must deny)', async () => {
    store = await startOwnStore();
    const deps = await depsOn(store.env);
    const { tokens } = await registerAndLogin(deps);
    expect(await authorize(deps, tokens.accessToken)).not.toBeNull();

    await store.stopRedis();
    const { ms, value, error } = await timed(() => authorize(deps, tokens.accessToken));
    expect(value).toBeUndefined();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as AuthError).code).toBe('service_unavailable');
    expect(ms).toBeLessThan(FAIL_FAST_MS);
  });

  it('every operation fails with service_unavailable and a Retry-After, issuing nothing', async () => {
    store = await startOwnStore();
    const deps = await depsOn(store.env);
    const live = await registerAndLogin(deps);

    await store.stopRedis();
    await expectAllFailClosed(deps, live);
  });

  it('recovers by itself once redis-server is back (the data is gone: nothing persists)', async () => {
    store = await startOwnStore();
    const deps = await depsOn(store.env);
    const live = await registerAndLogin(deps);
    await store.stopRedis();
    await expectAuthError(login(deps, { email: live.email, password: PASSWORD }, testContext()), 'service_unavailable');

    await store.restartRedis();
    await store.waitUntilServing();
    // An empty Redis: the old session is unknown (denied, not allowed), and new users work.
    expect(await authorize(deps, live.tokens.accessToken)).toBeNull();
    const fresh = await registerAndLogin(deps);
    expect(await authorize(deps, fresh.tokens.accessToken)).not.toBeNull();
  });
});

describe('a refresh that fails on a fault', () => {
  it('consumes nothing: with no grace interval, the same token still rotates once the gateway is back', async () => {
    store = await startOwnStore();
    // Grace 0: had the failed refresh consumed the token, presenting it again would be token_reused.
    const deps = await depsOn({ ...store.env, REFRESH_REUSE_INTERVAL_SECONDS: '0' });
    const { tokens } = await registerAndLogin(deps);
    const before = flatToRecord(await deps.redis.hgetall(deps.keys.session(tokens.user.id, tokens.sessionId)));

    // The gateway goes away; redis-server (and the session) stays.
    await store.closeGateway();
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'service_unavailable');
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'service_unavailable');
    await store.restartGateway();

    expect(flatToRecord(await deps.redis.hgetall(deps.keys.session(tokens.user.id, tokens.sessionId)))).toEqual(before);
    const next = await refresh(deps, tokens.refreshToken, testContext());
    expect(next.sessionId).toBe(tokens.sessionId);
    expect(await authorize(deps, next.accessToken)).not.toBeNull();
    expect((await refresh(deps, next.refreshToken, testContext())).sessionId).toBe(tokens.sessionId);
  });

  it('whose reply was lost after Redis rotated the token: the retry inside the grace interval gets the same successor', async () => {
    store = await startOwnStore();
    const proxy = await startLossyProxy(store.env.UPSTASH_REDIS_REST_URL);
    cleanups.push(() => proxy.close());
    const direct = await depsOn({ ...store.env, REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    const viaProxy = await depsOn({ ...store.env, UPSTASH_REDIS_REST_URL: proxy.url, REFRESH_REUSE_INTERVAL_SECONDS: '10' }, direct);
    const { tokens } = await registerAndLogin(direct);
    // Warm the rotation script so the lost reply is the script's, not a NOSCRIPT.
    await refresh(direct, (await registerAndLogin(direct)).tokens.refreshToken, testContext());

    proxy.mode = 'lose-replies';
    await expectAuthError(refresh(viaProxy, tokens.refreshToken, testContext()), 'service_unavailable');
    expect(proxy.forwarded).toBeGreaterThanOrEqual(1);
    // Redis did rotate: the session is at the next generation.
    const stored = flatToRecord(await direct.redis.hgetall(direct.keys.session(tokens.user.id, tokens.sessionId)));
    expect(stored.gen).toBe('1');

    proxy.mode = 'pass';
    const retried = await refresh(viaProxy, tokens.refreshToken, testContext());
    expect(retried.sessionId).toBe(tokens.sessionId);
    expect(retried.refreshToken.split('.')[2]).toBe(stored.gen);
    expect(await authorize(direct, retried.accessToken)).not.toBeNull();
    expect((await refresh(direct, retried.refreshToken, testContext())).sessionId).toBe(tokens.sessionId);
  });

  it('whose reply was lost once, with REFRESH_REUSE_INTERVAL_SECONDS=0, never revokes the session (a network blip is not reuse)', async () => {
    store = await startOwnStore();
    const proxy = await startLossyProxy(store.env.UPSTASH_REDIS_REST_URL);
    cleanups.push(() => proxy.close());
    const direct = await depsOn({ ...store.env, REFRESH_REUSE_INTERVAL_SECONDS: '0' });
    const viaProxy = await depsOn({ ...store.env, UPSTASH_REDIS_REST_URL: proxy.url, REFRESH_REUSE_INTERVAL_SECONDS: '0' }, direct);
    const { tokens } = await registerAndLogin(direct);
    await refresh(direct, (await registerAndLogin(direct)).tokens.refreshToken, testContext());
    // A first request through the proxy, so the next one goes over a pooled keep-alive socket.
    expect(await authorize(viaProxy, tokens.accessToken)).not.toBeNull();

    // The Redis client retries after a network error even when the command already ran; the
    // rotation script then sees its own successor's predecessor presented again.
    proxy.mode = 'lose-next-reply';
    const outcome = await outcomeOf(refresh(viaProxy, tokens.refreshToken, testContext()));
    // Acceptable: success (the client recovered its own rotation), or service_unavailable with
    // the session intact. Not acceptable: the client's own retry read as reuse, logging the
    // user out because of a dropped connection.
    expect(['ok', 'service_unavailable']).toContain(outcome.code);
    expect(await direct.redis.exists(direct.keys.session(tokens.user.id, tokens.sessionId))).toBe(1);
  });
});

describe('a registration whose reply was lost once', () => {
  it('is not answered email_taken for the caller’s own new account', async () => {
    store = await startOwnStore();
    const proxy = await startLossyProxy(store.env.UPSTASH_REDIS_REST_URL);
    cleanups.push(() => proxy.close());
    const direct = await depsOn({ ...store.env, RATE_LIMIT_REGISTER_PER_IP: 'off' });
    const viaProxy = await depsOn({ ...store.env, UPSTASH_REDIS_REST_URL: proxy.url, RATE_LIMIT_REGISTER_PER_IP: 'off' }, direct);
    await register(direct, { email: uniqueEmail(), password: PASSWORD }, testContext());
    // A first request through the proxy, so the next one goes over a pooled keep-alive socket.
    expect(await viaProxy.redis.exists('warm-up')).toBe(0);

    proxy.mode = 'lose-next-reply';
    const email = uniqueEmail();
    const outcome = await outcomeOf(register(viaProxy, { email, password: PASSWORD }, testContext()));
    // Success or service_unavailable are honest; email_taken tells a new user their own
    // address belongs to someone else.
    expect(['ok', 'service_unavailable']).toContain(outcome.code);
  });
});

describe('an unreachable or hung endpoint', () => {
  it('a dead port (connection refused): every operation fails fast with service_unavailable', async () => {
    const healthy = await depsOn({});
    const live = await registerAndLogin(healthy);
    const dead = await depsOn({ UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9' }, healthy);
    await expectAllFailClosed(dead, live);
    // Nothing happened to the real session.
    expect(await authorize(healthy, live.tokens.accessToken)).not.toBeNull();
  });

  it('a hung endpoint (accepts, never answers): every operation fails closed within 3 s', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const healthy = await depsOn({});
    const live = await registerAndLogin(healthy);
    const hung = await depsOn({ UPSTASH_REDIS_REST_URL: hole.url }, healthy);
    await expectAllFailClosed(hung, live);
  });
});

describe('the authorizer handler', () => {
  it('denies a valid token within 3 s when Redis is down (never Allow, never a throw)', async () => {
    store = await startOwnStore();
    const deps = await depsOn(store.env);
    const { tokens } = await registerAndLogin(deps);

    // The handler builds its deps from process.env at import; this file runs in its own worker.
    Object.assign(process.env, {
      ...store.env,
      REDIS_KEY_PREFIX: deps.config.redisKeyPrefix,
      JWT_PRIVATE_KEY: JSON.stringify(deps.config.jwtPrivateKey),
      JWT_PUBLIC_KEY: JSON.stringify(deps.keyRing.jwks.keys[0]),
      AUTH_SECRET: TEST_AUTH_SECRET,
      JWT_ISSUER: deps.config.jwtIssuer,
      JWT_AUDIENCE: deps.config.jwtAudience,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const { handler } = await import('../../functions/authorizer');
    const event = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:eu-west-1:123456789012:api/$default/GET/auth/me',
      identitySource: [`Bearer ${tokens.accessToken}`],
      routeKey: 'GET /auth/me',
      rawPath: '/auth/me',
      rawQueryString: '',
      headers: { authorization: `Bearer ${tokens.accessToken}` },
      requestContext: { requestId: randomBytes(4).toString('hex'), http: { sourceIp: '203.0.113.7' } },
    } as unknown as Parameters<typeof handler>[0];

    expect(await handler(event)).toEqual({ isAuthorized: true, context: { userId: tokens.user.id, sessionId: tokens.sessionId, aal: 1, amr: 'pwd' } });

    await store.stopRedis();
    const { ms, value, error } = await timed(() => handler(event));
    expect(error).toBeUndefined();
    expect(value).toEqual({ isAuthorized: false, context: {} });
    expect(ms).toBeLessThan(FAIL_FAST_MS);
  });
});
