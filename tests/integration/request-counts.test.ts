/**
 * Exact Redis cost of each operation, counted by a private gateway (`/__stats`), not timed.
 * Every script is warmed first, so a count is the steady state: EVALSHA, never NOSCRIPT + EVAL.
 * SPEC "Storage and scale" fixes the budgets: authorizer 1 request and 0 writes; refresh 1;
 * login at most 2; logout 1; logout-all, session list and revoke-one at most 2. The exact
 * counts of today's design are pinned, so a regression in round trips is seen.
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
import { listSecurityEvents } from '../../lib/security/events';
import { confirmTotp, enrollTotp, verifyMfa, type MfaChallenge } from '../../lib/mfa/mfa';
import { passkeyLogin, passkeyLoginOptions, passkeyRegistrationOptions, registerPasskey } from '../../lib/passkeys/passkeys';
import { softAuthenticator } from '../support/authenticator';
import { stepAt, totpCode } from '../support/totp';
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

  it('refresh with a forged MAC for a real session: 0 requests', async () => {
    const { tokens } = await registerAndLogin(deps);
    const forged = `${tokens.refreshToken.slice(0, -43)}${'A'.repeat(42)}Q`;
    const seen = await stats.around(() => expectAuthError(refresh(deps, forged, testContext()), 'invalid_token'));
    expect(httpRequests(seen)).toBe(0);
  });

  it('logout and revoke one: 1 request; logout-all and list: 2 (the index, then one script over its keys); me: 1', async () => {
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
    for (const name of ['revokeMySession', 'logout'] as const) {
      expect(counts[name].requests, name).toEqual({ '/': 1 });
      expect(counts[name].commands, name).toEqual({ EVALSHA: 1 });
    }
    for (const name of ['listMySessions', 'logoutAll'] as const) {
      expect(counts[name].requests, name).toEqual({ '/': 2 });
      expect(counts[name].commands, name).toEqual({ ZRANGE: 1, EVALSHA: 1 });
    }
    // The session's liveness and the user's email, pipelined.
    expect(counts.me.requests).toEqual({ '/pipeline': 1 });
    expect(counts.me.commands).toEqual({ HMGET: 2 });
  });

  it('register: 4 requests', async () => {
    const seen = await stats.around(() => register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext()));
    // 1: @upstash/ratelimit sliding window for RATE_LIMIT_REGISTER_PER_IP (one script).
    // 2: HSET of the user record (in the user's slot).
    // 3: the claim-email script on the email index (check + write, atomically).
    // 4: the verification token, in the user's slot (its link is mailed).
    expect(seen.requests).toEqual({ '/': 4 });
    expect(seen.commands).toEqual({ EVALSHA: 3, HSET: 1 });
  });

  it('login: 2 requests, whether it succeeds or the credentials are wrong', async () => {
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());

    // 1: one /pipeline request: the per-IP limit (one @upstash/ratelimit script), a look at the
    //    two failure counters (one read-only script each) and the HMGET of the email index
    //    (user id, password hash, known devices).
    // 2: one /pipeline request: the create-session script in the user's slot, and, for a
    //    device that never signed in, the remember-device script on the email index.
    const first = await stats.around(() => login(deps, { email, password: PASSWORD }, testContext()));
    expect(first.requests).toEqual({ '/pipeline': 2 });
    expect(first.commands).toEqual({ EVALSHA: 5, HMGET: 1 });
    // From a known device: the same, without the remember-device script (so a plain request).
    const again = await stats.around(() => login(deps, { email, password: PASSWORD }, testContext()));
    expect(again.requests).toEqual({ '/pipeline': 1, '/': 1 });
    expect(again.commands).toEqual({ EVALSHA: 4, HMGET: 1 });

    const failed = await stats.around(() => expectAuthError(login(deps, { email, password: 'wrong password' }, testContext()), 'invalid_credentials'));
    // The same first request; then both failure counters count it and, since the account
    // exists, its security event (`login_failed`) is recorded: one pipeline.
    expect(failed.requests).toEqual({ '/pipeline': 2 });
    expect(failed.commands).toEqual({ EVALSHA: 6, HMGET: 1 });

    const unknown = await stats.around(() => expectAuthError(login(deps, { email: uniqueEmail(), password: PASSWORD }, testContext()), 'invalid_credentials'));
    // An unknown email costs exactly the same requests as a wrong password: the same two
    // pipelines, one command fewer in the second (no account, no security event). One more
    // script in a pipeline is tens of microseconds, far below the bcrypt that dominates both
    // (tests/integration/enumeration-timing.test.ts).
    expect(unknown.requests).toEqual(failed.requests);
    expect(unknown.commands).toEqual({ EVALSHA: 5, HMGET: 1 });
  });

  it('login at MAX_SESSIONS_PER_USER: one more request, which hands the script the keys of the sessions it may evict', async () => {
    const capped = await createTestDeps({ ...store.env, REDIS_KEY_PREFIX: deps.config.redisKeyPrefix, MAX_SESSIONS_PER_USER: '2' }, { clock: createTestClock(), logger: captureLogger() });
    const email = uniqueEmail();
    await register(capped, { email, password: PASSWORD }, testContext('198.51.100.77'));
    await login(capped, { email, password: PASSWORD }, testContext('198.51.100.77'));
    const second = await stats.around(() => login(capped, { email, password: PASSWORD }, testContext('198.51.100.77')));
    expect(second.requests).toEqual({ '/pipeline': 1, '/': 1 });
    const third = await stats.around(() => login(capped, { email, password: PASSWORD }, testContext('198.51.100.77')));
    expect(third.requests).toEqual({ '/pipeline': 1, '/': 2 });
    expect(third.commands).toEqual({ EVALSHA: 5, HMGET: 1 });
  });

  it('login with TOTP on: 2 requests for the password step (the challenge is made by the session script), 3 for the code', async () => {
    const email = uniqueEmail('mfa-count');
    const ip = '198.51.100.88';
    await register(deps, { email, password: PASSWORD }, testContext(ip));
    const tokens = await login(deps, { email, password: PASSWORD }, testContext(ip));
    const principal = { userId: tokens.user.id, sessionId: tokens.sessionId };
    const { secret } = await enrollTotp(deps, principal);
    await confirmTotp(deps, principal, { code: totpCode(secret, stepAt(Date.now()) - 1) }, testContext(ip));
    // Warm-up: the second-factor script loaded (a recovery code, so no TOTP step is used up).
    const warm = (await login(deps, { email, password: PASSWORD }, testContext(ip), { allowMfa: true })) as MfaChallenge;
    await verifyMfa(deps, { mfaToken: warm.mfaToken, code: '000000' }, testContext(ip)).catch(() => undefined);

    let challenge: MfaChallenge | undefined;
    const password = await stats.around(async () => {
      challenge = (await login(deps, { email, password: PASSWORD }, testContext(ip), { allowMfa: true })) as MfaChallenge;
    });
    expect(challenge!.mfaRequired).toBe(true);
    expect(password.requests).toEqual({ '/pipeline': 1, '/': 1 });
    // 1: the sealed secret; 2: the second-factor script (the per-user limit, the step, the
    // challenge, in one atomic step); 3: the session's creation.
    const code = await stats.around(() => verifyMfa(deps, { mfaToken: challenge!.mfaToken, code: totpCode(secret, stepAt(Date.now())) }, testContext(ip)));
    expect(code.requests).toEqual({ '/': 3 });
  });

  it('passkeys: registration 3 + 3, sign-in options 2 (3 with an email), sign-in 5 from a known device', async () => {
    const { tokens, email } = await registerAndLogin(deps, { ip: '198.51.100.89' });
    const principal = { userId: tokens.user.id, sessionId: tokens.sessionId };
    const authenticator = softAuthenticator({ origin: 'https://app.example.test' });
    // Warm-up: the passkey script loaded.
    await registerPasskey(deps, principal, { response: authenticator.create(await passkeyRegistrationOptions(deps, principal)) }, testContext());
    const warm = await passkeyLoginOptions(deps, {}, testContext());
    await passkeyLogin(deps, { challengeId: warm.challengeId, response: authenticator.get(warm) }, testContext());

    let creation: Awaited<ReturnType<typeof passkeyRegistrationOptions>> | undefined;
    // 1: sudo mode's check (pipelined); 2: the user and its passkeys (pipelined); 3: the challenge.
    const options = await stats.around(async () => {
      creation = await passkeyRegistrationOptions(deps, principal);
    });
    expect(httpRequests(options)).toBe(3);
    // 1: sudo mode's check; 2: the challenge's take; 3: the credential stored (script).
    const added = await stats.around(() => registerPasskey(deps, principal, { response: authenticator.create(creation!) }, testContext()));
    expect(httpRequests(added)).toBe(3);

    let request: Awaited<ReturnType<typeof passkeyLoginOptions>> | undefined;
    const discoverable = await stats.around(async () => {
      request = await passkeyLoginOptions(deps, {}, testContext());
    });
    expect(httpRequests(discoverable)).toBe(2);
    const hinted = await stats.around(() => passkeyLoginOptions(deps, { email }, testContext()));
    expect(httpRequests(hinted)).toBe(3);
    // An address without an account costs the same.
    const unknown = await stats.around(() => passkeyLoginOptions(deps, { email: uniqueEmail('nobody') }, testContext()));
    expect(httpRequests(unknown)).toBe(3);
    // 1: the limit and the challenge's take (pipelined); 2: the credential; 3: the counter
    // (script); 4: the session (script); 5: the account's known devices (the new-device
    // notice; a device not among them is remembered: one more).
    const signIn = await stats.around(() => passkeyLogin(deps, { challengeId: request!.challengeId, response: authenticator.get(request!) }, testContext('198.51.100.89')));
    expect(signIn.requests).toEqual({ '/pipeline': 1, '/': 4 });
  });

  it('only login and me pipeline: the other flows send one command per request', async () => {
    const { tokens } = await registerAndLogin(deps);
    const seen = await stats.around(async () => {
      await register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext());
      await refresh(deps, tokens.refreshToken, testContext());
    });
    expect(Object.keys(seen.requests)).toEqual(['/']);
    expect(seen.errors).toBe(0);
  });

  it('security events: the list is 1 request (LRANGE); refresh-token reuse costs 1 more than a refresh (its event), only on that path', async () => {
    const { tokens } = await registerAndLogin(deps, { ip: '198.51.100.99' });
    const listed = await stats.around(() => listSecurityEvents(deps, tokens.user.id));
    expect(listed.requests).toEqual({ '/': 1 });
    expect(listed.commands).toEqual({ LRANGE: 1 });

    const reuseDeps = await createTestDeps({ ...store.env, REDIS_KEY_PREFIX: deps.config.redisKeyPrefix, REFRESH_REUSE_INTERVAL_SECONDS: '0' }, { clock: createTestClock(), logger: captureLogger() });
    await refresh(reuseDeps, tokens.refreshToken, testContext());
    const reused = await stats.around(() => expectAuthError(refresh(reuseDeps, tokens.refreshToken, testContext()), 'token_reused'));
    // 1: the rotation script (which revokes the session); 2: the security event.
    expect(reused.requests).toEqual({ '/': 2 });
    expect(reused.commands).toEqual({ EVALSHA: 2 });
  });
});
