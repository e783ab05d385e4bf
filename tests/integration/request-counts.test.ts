/**
 * Exact Redis cost of each operation, counted by a private gateway (`/__stats`), not timed.
 * Every script is warmed first, so a count is the steady state: EVALSHA, never NOSCRIPT + EVAL.
 * The contract fixes the authorizer's cost (one request, no write); the others are the
 * current design, pinned so a regression in round trips is seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
} from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import {
  captureLogger,
  expectAuthError,
  gatewayStatsClient,
  httpRequests,
  PASSWORD,
  registerAndLogin,
  startOwnStore,
  uniqueEmail,
  type OwnStore,
} from './helpers';

let store: OwnStore;
let deps: Deps;
let stats: ReturnType<typeof gatewayStatsClient>;

beforeAll(async () => {
  store = await startOwnStore();
  stats = gatewayStatsClient(store.env);
  // Every limit on (the defaults), so login and register pay for them as in production.
  deps = await createTestDeps({ ...store.env }, { clock: createTestClock(), logger: captureLogger() });

  // Warm-up: load every script of lib/ and of @upstash/ratelimit into this Redis once.
  const warm = await registerAndLogin(deps);
  await expectAuthError(login(deps, { email: warm.email, password: 'wrong password' }, testContext()), 'invalid_credentials');
  const rotated = await refresh(deps, warm.tokens.refreshToken, testContext());
  const principal = { userId: rotated.user.id, sessionId: rotated.sessionId };
  await authorize(deps, rotated.accessToken);
  await listMySessions(deps, principal);
  await revokeMySession(deps, principal, 'unknown-session-id', testContext()).catch(() => undefined);
  await logout(deps, principal, testContext());
  await logoutAll(deps, principal, testContext());
});

afterAll(() => store?.stop());

describe('Redis requests per operation (warm)', () => {
  it('authorize: 1 HTTP request (HMGET), 0 writes, no script', async () => {
    const { tokens } = await registerAndLogin(deps);
    const seen = await stats.around(async () => expect(await authorize(deps, tokens.accessToken)).not.toBeNull());
    expect(seen.requests).toEqual({ '/': 1 });
    expect(seen.commands).toEqual({ HMGET: 1 });
    expect(seen.writes).toBe(0);
    expect(seen.scripts).toBe(0);
  });

  it('authorize with a token that fails verification: 0 requests', async () => {
    const { tokens } = await registerAndLogin(deps);
    const seen = await stats.around(async () => expect(await authorize(deps, `${tokens.accessToken.slice(0, -2)}xx`)).toBeNull());
    expect(httpRequests(seen)).toBe(0);
  });

  it('refresh: 1 request (the rotation script, which also applies the per-session limit)', async () => {
    const { tokens } = await registerAndLogin(deps);
    const seen = await stats.around(() => refresh(deps, tokens.refreshToken, testContext()));
    expect(seen.requests).toEqual({ '/': 1 });
    expect(seen.commands).toEqual({ EVALSHA: 1 });
  });

  it('refresh with a malformed token: 0 requests', async () => {
    const seen = await stats.around(() => expectAuthError(refresh(deps, 'not-a-token', testContext()), 'invalid_token'));
    expect(httpRequests(seen)).toBe(0);
  });

  it('logout, logout-all, list, revoke one, me: 1 request each', async () => {
    const { email, tokens } = await registerAndLogin(deps);
    const other = await login(deps, { email, password: PASSWORD }, testContext());
    const principal = { userId: tokens.user.id, sessionId: tokens.sessionId };

    const counts = {
      listMySessions: await stats.around(() => listMySessions(deps, principal)),
      me: await stats.around(() => me(deps, principal)),
      revokeMySession: await stats.around(() => revokeMySession(deps, principal, other.sessionId, testContext())),
      logout: await stats.around(() => logout(deps, principal, testContext())),
      logoutAll: await stats.around(() => logoutAll(deps, principal, testContext())),
    };
    for (const [name, seen] of Object.entries(counts)) {
      expect(seen.requests, name).toEqual({ '/': 1 });
      expect(seen.total, name).toBe(1);
    }
    expect(counts.me.commands).toEqual({ HMGET: 1 });
    for (const name of ['listMySessions', 'revokeMySession', 'logout', 'logoutAll'] as const) {
      expect(counts[name].commands, name).toEqual({ EVALSHA: 1 });
    }
  });

  it('register: 2 requests', async () => {
    const seen = await stats.around(() => register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext()));
    // 1: @upstash/ratelimit sliding window for RATE_LIMIT_REGISTER_PER_IP (one script).
    // 2: the register-user script (exists check + HSET, atomically).
    expect(seen.requests).toEqual({ '/': 2 });
    expect(seen.commands).toEqual({ EVALSHA: 2 });
  });

  it('login: 2 requests when it succeeds, 1 when the credentials are wrong', async () => {
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());

    const ok = await stats.around(() => login(deps, { email, password: PASSWORD }, testContext()));
    // 1: one /pipeline request with the two @upstash/ratelimit checks (per IP, per account; one
    //    script each) and the HMGET of the user record (id, email, password hash).
    // 2: the create-session script (session hash, index entry, pruning and the cap in one step).
    expect(ok.requests).toEqual({ '/pipeline': 1, '/': 1 });
    expect(ok.commands).toEqual({ EVALSHA: 3, HMGET: 1 });

    const failed = await stats.around(() => expectAuthError(login(deps, { email, password: 'wrong password' }, testContext()), 'invalid_credentials'));
    // The two limiter checks and the user lookup in one pipeline; no session is created.
    expect(failed.requests).toEqual({ '/pipeline': 1 });
    expect(failed.commands).toEqual({ EVALSHA: 2, HMGET: 1 });

    const unknown = await stats.around(() => expectAuthError(login(deps, { email: uniqueEmail(), password: PASSWORD }, testContext()), 'invalid_credentials'));
    // An unknown email costs exactly the same requests as a wrong password.
    expect(unknown.commands).toEqual(failed.commands);
  });

  it('only login pipelines: the other flows send one command per request', async () => {
    const { tokens } = await registerAndLogin(deps);
    const seen = await stats.around(async () => {
      await register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext());
      await refresh(deps, tokens.refreshToken, testContext());
    });
    expect(Object.keys(seen.requests)).toEqual(['/']);
    expect(seen.errors).toBe(0);
  });
});
