/**
 * Sessions against a real Redis (issue 3): logout and logout-all, the session list, revoking
 * one session, idle and absolute lifetimes (test clock and real TTLs), the per-user cap, index
 * pruning, and logout-all racing with logins.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, listMySessions, login, logout, logoutAll, me, refresh, register, revokeMySession, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import {
  captureLogger,
  expectAuthError,
  flatToRecord,
  gatewayStatsClient,
  outcomeOf,
  PASSWORD,
  registerAndLogin,
  sleep,
  startOwnStore,
  uniqueEmail,
  type OwnStore,
  NO_LIMITS,
} from './helpers';

async function setup(env: Record<string, string> = {}) {
  const clock = createTestClock();
  const logger = captureLogger();
  const deps = await createTestDeps({ ...NO_LIMITS, ...env }, { clock, logger });
  return { deps, clock, logger };
}

const principalOf = (tokens: TokenResponse) => ({ userId: tokens.user.id, sessionId: tokens.sessionId });

function loginAs(deps: Deps, email: string, deviceName?: string, ip = '198.51.100.1'): Promise<TokenResponse> {
  return login(deps, { email, password: PASSWORD, deviceName }, { ip, userAgent: `agent-${deviceName ?? 'none'}`, requestId: randomBytes(4).toString('hex') });
}

async function expectSessionDead(deps: Deps, tokens: TokenResponse): Promise<void> {
  expect(await authorize(deps, tokens.accessToken)).toBeNull();
  const outcome = await outcomeOf(refresh(deps, tokens.refreshToken, testContext()));
  expect(['invalid_token', 'token_reused']).toContain(outcome.code);
}

describe('logout', () => {
  it('logout revokes only the caller’s session', async () => {
    const { deps } = await setup();
    const { email, tokens: phone } = await registerAndLogin(deps, { deviceName: 'phone' });
    const laptop = await loginAs(deps, email, 'laptop');

    await logout(deps, principalOf(phone), testContext());
    await expectSessionDead(deps, phone);
    await expectAuthError(me(deps, principalOf(phone)), 'invalid_token');
    expect(await authorize(deps, laptop.accessToken)).toEqual({ ...principalOf(laptop), aal: 1, amr: ['pwd'] });
    expect((await listMySessions(deps, principalOf(laptop))).map((s) => s.id)).toEqual([laptop.sessionId]);
    // Idempotent.
    await logout(deps, principalOf(phone), testContext());
  });

  it('two devices then logout-all: both access tokens denied, both refresh tokens refused', async () => {
    const { deps, logger } = await setup();
    const { email, tokens: phone } = await registerAndLogin(deps, { deviceName: 'phone' });
    const laptop = await loginAs(deps, email, 'laptop');
    expect(await authorize(deps, phone.accessToken)).not.toBeNull();
    expect(await authorize(deps, laptop.accessToken)).not.toBeNull();

    await logoutAll(deps, principalOf(laptop), testContext());

    await expectSessionDead(deps, phone);
    await expectSessionDead(deps, laptop);
    expect(await listMySessions(deps, principalOf(laptop))).toEqual([]);
    expect(await deps.redis.exists(deps.keys.userSessions(laptop.user.id))).toBe(0);
    expect(logger.named('logout_all')).toHaveLength(1);
  });
});

describe('the session list', () => {
  it('shows every live session newest first, with `current` right and no secret anywhere', async () => {
    const { deps, clock } = await setup();
    const { email, tokens: phone } = await registerAndLogin(deps, { deviceName: 'phone', ip: '198.51.100.1' });
    clock.advance(1_000);
    const laptop = await loginAs(deps, email, 'laptop', '198.51.100.2');

    const fromLaptop = await listMySessions(deps, principalOf(laptop));
    expect(fromLaptop.map((s) => s.id)).toEqual([laptop.sessionId, phone.sessionId]);
    expect(fromLaptop.map((s) => s.current)).toEqual([true, false]);
    const fromPhone = await listMySessions(deps, principalOf(phone));
    expect(fromPhone.map((s) => [s.id, s.current])).toEqual([
      [laptop.sessionId, false],
      [phone.sessionId, true],
    ]);

    for (const session of fromLaptop) {
      expect(Object.keys(session).sort()).toEqual(['createdAt', 'current', 'device', 'expiresAt', 'id', 'lastUsedAt']);
      expect(Object.keys(session.device).sort()).toEqual(['ip', 'name', 'userAgent']);
      for (const time of [session.createdAt, session.lastUsedAt, session.expiresAt]) {
        expect(new Date(time).toISOString()).toBe(time);
      }
      expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.parse(session.createdAt));
    }
    expect(fromLaptop[0]!.device).toEqual({ name: 'laptop', userAgent: 'agent-laptop', ip: '198.51.100.2' });
    expect(fromLaptop[1]!.device).toEqual({ name: 'phone', userAgent: 'vitest', ip: '198.51.100.1' });

    // No token, token secret, token hash or user data in what a client receives.
    const json = JSON.stringify({ sessions: fromLaptop });
    for (const tokens of [phone, laptop]) {
      const mac = tokens.refreshToken.split('.')[3]!;
      for (const forbidden of [tokens.accessToken, tokens.refreshToken, mac, email, tokens.user.id]) {
        expect(json).not.toContain(forbidden);
      }
    }
    // Nor anything secret in Redis: the session holds its generation, never a token or its MAC.
    const stored = JSON.stringify(await deps.redis.hgetall(deps.keys.session(laptop.user.id, laptop.sessionId)));
    expect(stored).not.toContain(laptop.refreshToken.split('.')[3]!);
  });

  it('lastUsedAt moves on refresh only; authorize() reads one field set and writes nothing', async () => {
    const { deps, clock } = await setup();
    const { tokens } = await registerAndLogin(deps);
    const [initial] = await listMySessions(deps, principalOf(tokens));
    expect(initial!.lastUsedAt).toBe(initial!.createdAt);

    clock.advance(5_000);
    expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
    await me(deps, principalOf(tokens));
    const [afterAuthorize] = await listMySessions(deps, principalOf(tokens));
    expect(afterAuthorize!.lastUsedAt).toBe(initial!.lastUsedAt);
    expect(afterAuthorize!.expiresAt).toBe(initial!.expiresAt);

    const refreshedAt = clock.now();
    const next = await refresh(deps, tokens.refreshToken, testContext());
    const [afterRefresh] = await listMySessions(deps, principalOf(next));
    expect(Date.parse(afterRefresh!.lastUsedAt)).toBeGreaterThanOrEqual(refreshedAt);
    expect(Date.parse(afterRefresh!.lastUsedAt)).toBeGreaterThan(Date.parse(initial!.lastUsedAt));
    expect(Date.parse(afterRefresh!.expiresAt)).toBeGreaterThan(Date.parse(initial!.expiresAt));
    expect(afterRefresh!.createdAt).toBe(initial!.createdAt);
  });

  describe('on a private gateway (exact command counts)', () => {
    let store: OwnStore;
    beforeAll(async () => {
      store = await startOwnStore();
    });
    afterAll(() => store?.stop());

    it('authorize() costs one HMGET and no write', async () => {
      const deps = await createTestDeps({ ...NO_LIMITS, ...store.env }, { clock: createTestClock(), logger: captureLogger() });
      const { tokens } = await registerAndLogin(deps);
      const before = flatToRecord(await deps.redis.hgetall(deps.keys.session(tokens.user.id, tokens.sessionId)));
      const stats = gatewayStatsClient(store.env);

      const seen = await stats.around(async () => {
        expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
      });
      expect(seen.requests).toEqual({ '/': 1 });
      expect(seen.commands).toEqual({ HMGET: 1 });
      expect(seen.writes).toBe(0);
      expect(seen.scripts).toBe(0);
      expect(flatToRecord(await deps.redis.hgetall(deps.keys.session(tokens.user.id, tokens.sessionId)))).toEqual(before);
    });
  });
});

describe('revoking one session', () => {
  it('revokes another of the caller’s sessions from this device', async () => {
    const { deps, logger } = await setup();
    const { email, tokens: phone } = await registerAndLogin(deps, { deviceName: 'phone' });
    const laptop = await loginAs(deps, email, 'laptop');

    await expect(revokeMySession(deps, principalOf(laptop), phone.sessionId, testContext())).resolves.toBeUndefined();
    await expectSessionDead(deps, phone);
    expect(await authorize(deps, laptop.accessToken)).not.toBeNull();
    expect((await listMySessions(deps, principalOf(laptop))).map((s) => s.id)).toEqual([laptop.sessionId]);
    expect(logger.named('session_revoked')).toEqual([expect.objectContaining({ sessionId: phone.sessionId, outcome: 'success' })]);

    // Revoking it again: it is no longer a live session of the caller's.
    await expectAuthError(revokeMySession(deps, principalOf(laptop), phone.sessionId, testContext()), 'not_found');
  });

  it('answers not_found for another user’s session or an unknown id, changing nothing', async () => {
    const { deps } = await setup();
    const alice = await registerAndLogin(deps);
    const bob = await registerAndLogin(deps);
    const bobBefore = flatToRecord(await deps.redis.hgetall(deps.keys.session(bob.userId, bob.tokens.sessionId)));

    await expectAuthError(revokeMySession(deps, principalOf(alice.tokens), bob.tokens.sessionId, testContext()), 'not_found');
    await expectAuthError(revokeMySession(deps, principalOf(alice.tokens), randomBytes(16).toString('base64url'), testContext()), 'not_found');
    await expectAuthError(revokeMySession(deps, principalOf(alice.tokens), '', testContext()), 'not_found');

    expect(flatToRecord(await deps.redis.hgetall(deps.keys.session(bob.userId, bob.tokens.sessionId)))).toEqual(bobBefore);
    expect(await deps.redis.zscore(deps.keys.userSessions(bob.userId), bob.tokens.sessionId)).not.toBeNull();
    expect(await authorize(deps, bob.tokens.accessToken)).not.toBeNull();
    expect(await authorize(deps, alice.tokens.accessToken)).not.toBeNull();
    expect((await refresh(deps, bob.tokens.refreshToken, testContext())).sessionId).toBe(bob.tokens.sessionId);
  });

  it('revoking the caller’s own current session is a logout', async () => {
    const { deps } = await setup();
    const { tokens } = await registerAndLogin(deps);
    await revokeMySession(deps, principalOf(tokens), tokens.sessionId, testContext());
    await expectSessionDead(deps, tokens);
  });
});

describe('lifetimes', () => {
  it('idle timeout: a session not refreshed within REFRESH_TOKEN_TTL_SECONDS is gone', async () => {
    const { deps, clock } = await setup({ REFRESH_TOKEN_TTL_SECONDS: '30' });
    const { email, tokens } = await registerAndLogin(deps);
    // Whole seconds left, rounded down: 30, or 29 once a millisecond has passed since creation.
    expect([29, 30]).toContain(tokens.refreshExpiresIn);
    clock.advance(20_000);
    // Still alive before the deadline, and refreshing moves the idle deadline.
    const next = await refresh(deps, tokens.refreshToken, testContext());
    expect([29, 30]).toContain(next.refreshExpiresIn);
    clock.advance(29_000);
    expect(await authorize(deps, next.accessToken)).not.toBeNull();

    clock.advance(2_000);
    await expectAuthError(refresh(deps, next.refreshToken, testContext()), 'invalid_token');
    expect(await authorize(deps, next.accessToken)).toBeNull();
    expect(await listMySessions(deps, principalOf(next))).toEqual([]);
    await expectAuthError(me(deps, principalOf(next)), 'invalid_token');
    await expectAuthError(revokeMySession(deps, principalOf(next), next.sessionId, testContext()), 'not_found');
    // A new login works and lists only itself.
    const fresh = await loginAs(deps, email);
    expect((await listMySessions(deps, principalOf(fresh))).map((s) => s.id)).toEqual([fresh.sessionId]);
  });

  it('absolute lifetime: refreshing never extends a session, or an access token, past SESSION_MAX_TTL_SECONDS', async () => {
    const { deps, clock } = await setup({ SESSION_MAX_TTL_SECONDS: '20', REFRESH_TOKEN_TTL_SECONDS: '8', ACCESS_TOKEN_TTL_SECONDS: '900' });
    let tokens = (await registerAndLogin(deps)).tokens;
    const absoluteMs = Number(flatToRecord(await deps.redis.hgetall(deps.keys.session(tokens.user.id, tokens.sessionId))).abs);
    const createdMs = Date.parse((await listMySessions(deps, principalOf(tokens)))[0]!.createdAt);
    expect(absoluteMs).toBe(createdMs + 20_000);

    const check = async (current: TokenResponse, issuedAtMs: number) => {
      const expiresAtMs = issuedAtMs + current.refreshExpiresIn * 1000;
      expect(expiresAtMs).toBeLessThanOrEqual(absoluteMs);
      const claims = decodeJwt(current.accessToken);
      expect(claims.exp! * 1000).toBeLessThanOrEqual(absoluteMs);
      const [listed] = await listMySessions(deps, principalOf(current));
      expect(Date.parse(listed!.expiresAt)).toBeLessThanOrEqual(absoluteMs);
      expect(claims.exp!).toBeLessThanOrEqual(Math.floor(Date.parse(listed!.expiresAt) / 1000));
    };
    await check(tokens, clock.now());

    const seen: number[] = [tokens.refreshExpiresIn];
    for (let i = 0; i < 3; i++) {
      clock.advance(5_000);
      const issuedAt = clock.now();
      tokens = await refresh(deps, tokens.refreshToken, testContext());
      seen.push(tokens.refreshExpiresIn);
      await check(tokens, issuedAt);
    }
    // 8 s of idle time while the absolute deadline is further off; then clamped to what is left.
    for (const idle of seen.slice(0, 3)) expect([7, 8]).toContain(idle);
    expect(seen[3]!).toBeLessThanOrEqual(5);

    // Past the absolute deadline nothing works, however recently it was refreshed.
    clock.advance(absoluteMs - clock.now() + 1);
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'invalid_token');
    expect(await authorize(deps, tokens.accessToken)).toBeNull();
    expect(await listMySessions(deps, principalOf(tokens))).toEqual([]);
  });

  it('with real short TTLs the Redis keys themselves expire', async () => {
    const { deps } = await setup({ REFRESH_TOKEN_TTL_SECONDS: '1' });
    const { tokens } = await registerAndLogin(deps);
    const sessionKey = deps.keys.session(tokens.user.id, tokens.sessionId);
    const indexKey = deps.keys.userSessions(tokens.user.id);
    expect(await deps.redis.exists(sessionKey, indexKey)).toBe(2);
    expect(await deps.redis.pttl(sessionKey)).toBeGreaterThan(0);
    expect(await deps.redis.pttl(sessionKey)).toBeLessThanOrEqual(1_000);

    await sleep(1_500);
    // Checked before any lib/ call, which could prune the keys itself.
    expect(await deps.redis.exists(sessionKey)).toBe(0);
    expect(await deps.redis.exists(indexKey)).toBe(0);
    expect(await authorize(deps, tokens.accessToken)).toBeNull();
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'invalid_token');
  });
});

describe('per-user limits on sessions', () => {
  it('MAX_SESSIONS_PER_USER=3: five logins leave the three newest; the two oldest are revoked', async () => {
    const { deps, clock, logger } = await setup({ MAX_SESSIONS_PER_USER: '3' });
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());
    const sessions: TokenResponse[] = [];
    for (let i = 0; i < 5; i++) {
      sessions.push(await loginAs(deps, email, `device-${i}`));
      clock.advance(1_000);
    }

    const listed = await listMySessions(deps, principalOf(sessions[4]!));
    expect(listed.map((s) => s.id)).toEqual([sessions[4]!.sessionId, sessions[3]!.sessionId, sessions[2]!.sessionId]);
    expect(await deps.redis.zcard(deps.keys.userSessions(sessions[0]!.user.id))).toBe(3);
    for (const old of sessions.slice(0, 2)) await expectSessionDead(deps, old);
    for (const live of sessions.slice(2)) expect(await authorize(deps, live.accessToken)).not.toBeNull();
    expect(logger.named('session_evicted').map((e) => e.sessionId)).toEqual([sessions[0]!.sessionId, sessions[1]!.sessionId]);
  });

  it('MAX_SESSIONS_PER_USER=3 holds under 12 concurrent logins: exactly three stay alive, all listed', async () => {
    const { deps, logger } = await setup({ MAX_SESSIONS_PER_USER: '3' });
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());
    const sessions = await Promise.all(Array.from({ length: 12 }, (_, i) => loginAs(deps, email, `device-${i}`)));

    const alive = [];
    for (const tokens of sessions) if (await authorize(deps, tokens.accessToken)) alive.push(tokens.sessionId);
    expect(alive).toHaveLength(3);
    const listed = await listMySessions(deps, principalOf(sessions[0]!));
    expect(listed.map((s) => s.id).sort()).toEqual([...alive].sort());
    expect(await deps.redis.zcard(deps.keys.userSessions(sessions[0]!.user.id))).toBe(3);
    expect(logger.named('session_evicted')).toHaveLength(9);
  });

  it('a user’s index holds only live sessions after 200 expired ones (pruned by login and by list)', async () => {
    const { deps, clock } = await setup({ REFRESH_TOKEN_TTL_SECONDS: '60', MAX_SESSIONS_PER_USER: '1000' });
    const [alice, bob] = [uniqueEmail('alice'), uniqueEmail('bob')];
    for (const email of [alice, bob]) await register(deps, { email, password: PASSWORD }, testContext());

    const created: Record<string, TokenResponse[]> = { [alice]: [], [bob]: [] };
    for (let batch = 0; batch < 10; batch++) {
      for (const email of [alice, bob]) {
        created[email]!.push(...(await Promise.all(Array.from({ length: 20 }, () => loginAs(deps, email)))));
      }
    }
    const [aliceId, bobId] = [created[alice]![0]!.user.id, created[bob]![0]!.user.id];
    expect(await deps.redis.zcard(deps.keys.userSessions(aliceId))).toBe(200);
    expect(await deps.redis.zcard(deps.keys.userSessions(bobId))).toBe(200);

    clock.advance(61_000);

    // Alice: one new login prunes the 200 expired entries and deletes their hashes.
    const fresh = await loginAs(deps, alice);
    expect(await deps.redis.zcard(deps.keys.userSessions(aliceId))).toBe(1);
    expect((await listMySessions(deps, principalOf(fresh))).map((s) => s.id)).toEqual([fresh.sessionId]);
    // Their hashes are dead to every operation (the deadline is checked, not only the TTL) and
    // Redis drops them at their deadline (the test clock runs ahead of Redis's, so they are
    // still there now).
    for (const tokens of created[alice]!.slice(0, 20)) {
      expect(await authorize(deps, tokens.accessToken)).toBeNull();
      expect(await deps.redis.pttl(deps.keys.session(aliceId, tokens.sessionId))).toBeLessThanOrEqual(60_000);
    }

    // Bob: listing alone prunes them too.
    expect(await listMySessions(deps, principalOf(created[bob]![0]!))).toEqual([]);
    expect(await deps.redis.zcard(deps.keys.userSessions(bobId))).toBe(0);
  });

  it('logout-all racing with 20 concurrent logins leaves no live session outside the list', async () => {
    const { deps } = await setup();
    const { email, tokens: first } = await registerAndLogin(deps);

    for (let round = 0; round < 3; round++) {
      // 20 logins as 4 concurrent chains of 5, so they spread over time; logout-all goes out
      // while others are in flight, when the 5th, 10th or 15th has finished.
      let finished = 0;
      let revoked: Promise<{ code: string }> | undefined;
      const chain = async () => {
        const done = [];
        for (let i = 0; i < 5; i++) {
          done.push(await outcomeOf(loginAs(deps, email)));
          if (++finished === 5 * (round + 1)) revoked = outcomeOf(logoutAll(deps, principalOf(first), testContext()));
        }
        return done;
      };
      const results = (await Promise.all([chain(), chain(), chain(), chain()])).flat();
      expect((await revoked!).code).toBe('ok');

      const issued = results.map((r) => r.value!);
      expect(issued).toHaveLength(20);
      const listed = new Set((await listMySessions(deps, principalOf(first))).map((s) => s.id));
      let survivors = 0;
      for (const tokens of issued) {
        const alive = (await deps.redis.exists(deps.keys.session(tokens.user.id, tokens.sessionId))) === 1;
        if (alive) survivors++;
        const authorized = (await authorize(deps, tokens.accessToken)) !== null;
        expect(authorized).toBe(alive);
        // The invariant: alive ⇔ listed (logout-all of the listed ones must catch it later).
        expect(listed.has(tokens.sessionId)).toBe(alive);
      }
      // Those finished before logout-all was sent are certainly revoked.
      expect(survivors).toBeLessThanOrEqual(20 - 5 * (round + 1));
      // A second logout-all now revokes everything that survived the race.
      await logoutAll(deps, principalOf(first), testContext());
      for (const tokens of issued) expect(await authorize(deps, tokens.accessToken)).toBeNull();
    }
  });
});

describe('which session the cap revokes', () => {
  it('is the earliest created, even when it was refreshed most recently', async () => {
    const deps = await createTestDeps({ ...NO_LIMITS, MAX_SESSIONS_PER_USER: '2' }, { clock: createTestClock(), logger: captureLogger() });
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());
    const signIn = () => login(deps, { email, password: PASSWORD }, testContext());
    const oldest = await signIn();
    await sleep(5);
    const middle = await signIn();
    // The oldest is refreshed last: it now expires last, but it is still the oldest.
    const refreshedOldest = await refresh(deps, oldest.refreshToken, testContext());
    await sleep(5);
    const newest = await signIn();
    const live = (await listMySessions(deps, { userId: newest.user.id, sessionId: newest.sessionId })).map((session) => session.id);
    expect(live.sort()).toEqual([middle.sessionId, newest.sessionId].sort());
    expect(await authorize(deps, refreshedOldest.accessToken)).toBeNull();
  });
});
