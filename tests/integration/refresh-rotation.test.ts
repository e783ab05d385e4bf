/**
 * Refresh-token rotation against a real Redis: rotation, the grace interval for concurrent
 * refreshes, reuse detection revoking the whole session, and tokens that are not ours
 * changing nothing.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorize, refresh, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { createTestClock, createTestDeps, TEST_AUTH_SECRET, testContext } from '../support/deps';
import { NO_LIMITS, captureLogger, expectAuthError, flatToRecord, outcomeOf, registerAndLogin } from './helpers';

async function setup(env: Record<string, string> = {}) {
  const clock = createTestClock();
  const logger = captureLogger();
  const deps = await createTestDeps({ ...NO_LIMITS, ...env }, { clock, logger });
  const { tokens, userId } = await registerAndLogin(deps);
  return { deps, clock, logger, tokens, userId };
}

/** The session hash as stored, for "changes nothing" comparisons. */
async function sessionRecord(deps: Deps, tokens: TokenResponse): Promise<Record<string, string>> {
  return flatToRecord(await deps.redis.hgetall(deps.keys.session(tokens.user.id, tokens.sessionId)));
}

async function expectSessionRevoked(deps: Deps, tokens: TokenResponse, refreshTokens: string[]): Promise<void> {
  expect(await authorize(deps, tokens.accessToken)).toBeNull();
  for (const token of refreshTokens) {
    const outcome = await outcomeOf(refresh(deps, token, testContext()));
    expect(['token_reused', 'invalid_token']).toContain(outcome.code);
  }
  expect(await deps.redis.exists(deps.keys.session(tokens.user.id, tokens.sessionId))).toBe(0);
  expect(await deps.redis.zscore(deps.keys.userSessions(tokens.user.id), tokens.sessionId)).toBeNull();
}

describe('rotation', () => {
  it('returns a new refresh token of the same session, and a working access token', async () => {
    const { deps, tokens, userId } = await setup();
    const next = await refresh(deps, tokens.refreshToken, testContext());

    expect(next.refreshToken).not.toBe(tokens.refreshToken);
    expect(next.accessToken).not.toBe(tokens.accessToken);
    expect(next.sessionId).toBe(tokens.sessionId);
    expect(next.user).toEqual(tokens.user);
    expect(next.tokenType).toBe('Bearer');
    expect(next.expiresIn).toBeGreaterThan(0);
    expect(next.refreshExpiresIn).toBeGreaterThan(0);
    expect(await authorize(deps, next.accessToken)).toEqual({ userId, sessionId: tokens.sessionId, aal: 1, amr: ['pwd'] });
    // The new token rotates in turn.
    const third = await refresh(deps, next.refreshToken, testContext());
    expect(third.sessionId).toBe(tokens.sessionId);
  });

  it('answers the old token within the grace interval with the same successor, revoking nothing', async () => {
    const { deps, clock, tokens, logger } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    const next = await refresh(deps, tokens.refreshToken, testContext());
    clock.advance(9_000);
    const again = await refresh(deps, tokens.refreshToken, testContext());

    expect(again.refreshToken).toBe(next.refreshToken);
    expect(again.sessionId).toBe(tokens.sessionId);
    expect(await authorize(deps, next.accessToken)).not.toBeNull();
    expect(await authorize(deps, again.accessToken)).not.toBeNull();
    expect(logger.named('reuse_detected')).toHaveLength(0);
    // The successor still rotates normally.
    const third = await refresh(deps, next.refreshToken, testContext());
    expect(third.sessionId).toBe(tokens.sessionId);
  });

  it('with REFRESH_REUSE_INTERVAL_SECONDS=0, exactly one of 10 concurrent refreshes succeeds and the session is revoked', async () => {
    const { deps, tokens, logger } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '0' });
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => outcomeOf(refresh(deps, tokens.refreshToken, testContext()))));

    const winners = outcomes.filter((o) => o.code === 'ok');
    expect(winners).toHaveLength(1);
    for (const loser of outcomes.filter((o) => o.code !== 'ok')) expect(['token_reused', 'invalid_token']).toContain(loser.code);
    // The first loser found the token rotated (reuse); the session is gone after that.
    expect(outcomes.filter((o) => o.code === 'token_reused').length).toBeGreaterThanOrEqual(1);
    expect(logger.named('reuse_detected').length).toBeGreaterThanOrEqual(1);

    // A rotated token presented again revokes the whole session, the winner's tokens included.
    const winner = winners[0]!.value!;
    await expectSessionRevoked(deps, winner, [winner.refreshToken, tokens.refreshToken]);
    expect(await authorize(deps, tokens.accessToken)).toBeNull();
  });

  it('with a 10 s grace interval, 10 concurrent refreshes of one token all succeed in the same session', async () => {
    const { deps, tokens, logger } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(deps, tokens.refreshToken, testContext())));

    for (const result of results) {
      expect(result.sessionId).toBe(tokens.sessionId);
      expect(await authorize(deps, result.accessToken)).toEqual({ userId: tokens.user.id, sessionId: tokens.sessionId, aal: 1, amr: ['pwd'] });
    }
    // By design every grace answer carries the one successor.
    const successors = new Set(results.map((r) => r.refreshToken));
    expect(successors.size).toBe(1);
    expect(logger.named('reuse_detected')).toHaveLength(0);

    // Each returned refresh token works afterwards (each client refreshes once more).
    const followUps = await Promise.all(results.map((r) => refresh(deps, r.refreshToken, testContext())));
    for (const followUp of followUps) expect(followUp.sessionId).toBe(tokens.sessionId);
    expect(logger.named('reuse_detected')).toHaveLength(0);
  });
  it('a rotation that Redis ran late (stalled) records Redis’s time, so the client’s retry is inside the grace interval', async () => {
    const { deps, clock, tokens, logger } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    // The request was made 12 s ago and queued behind a stopped Redis (SIGSTOP, then SIGCONT):
    // its own timestamp is 12 s old when the script finally runs.
    clock.advance(-12_000);
    await refresh(deps, tokens.refreshToken, testContext());
    clock.advance(12_000);
    // Its answer was lost (503); the client retries the same token now.
    const retry = await refresh(deps, tokens.refreshToken, testContext());

    expect(retry.sessionId).toBe(tokens.sessionId);
    expect(logger.named('reuse_detected')).toEqual([]);
    expect(await authorize(deps, retry.accessToken)).not.toBeNull();
  });
});

describe('reuse detection', () => {
  it('after the grace interval, the rotated token answers token_reused and revokes the whole session', async () => {
    const { deps, clock, tokens, logger } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    const next = await refresh(deps, tokens.refreshToken, testContext());
    clock.advance(10_001);

    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'token_reused');
    expect(logger.named('reuse_detected')).toEqual([expect.objectContaining({ outcome: 'denied', sessionId: tokens.sessionId })]);
    await expectSessionRevoked(deps, next, [next.refreshToken, tokens.refreshToken]);
  });

  it('detects a token two generations old as reuse', async () => {
    const { deps, clock, tokens } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    const second = await refresh(deps, tokens.refreshToken, testContext());
    clock.advance(11_000);
    const third = await refresh(deps, second.refreshToken, testContext());
    clock.advance(11_000);

    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'token_reused');
    await expectSessionRevoked(deps, third, [third.refreshToken, second.refreshToken]);
  });

  it('detects a token many generations old as reuse (history survives repeated rotation)', async () => {
    const { deps, clock, tokens } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '0' });
    const history = [tokens.refreshToken];
    let current = tokens;
    for (let i = 0; i < 8; i++) {
      current = await refresh(deps, current.refreshToken, testContext());
      history.push(current.refreshToken);
      clock.advance(1_000);
    }
    await expectAuthError(refresh(deps, history[1]!, testContext()), 'token_reused');
    await expectSessionRevoked(deps, current, [current.refreshToken]);
  });

  it('after 3,000 rotations the session still takes at most 2 KiB, and its first token is still recognized as reuse', async () => {
    const { deps, clock, tokens } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10', SESSION_MAX_TTL_SECONDS: '31536000' });
    const bytes = async (current: TokenResponse) => {
      const usage = async (key: string) => Number(await deps.redis.eval("return redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', '0')", [key], []));
      return (await usage(deps.keys.session(current.user.id, current.sessionId))) + (await usage(deps.keys.userSessions(current.user.id)));
    };
    let current = tokens;
    const sizes: number[] = [];
    for (let i = 1; i <= 3000; i++) {
      // Some bursts inside the grace interval, mostly 15 minutes apart.
      clock.advance(i % 10 === 0 ? 1_000 : 900_000);
      current = await refresh(deps, current.refreshToken, testContext());
      if (i === 1 || i === 100 || i === 3000) sizes.push(await bytes(current));
    }
    for (const size of sizes) expect(size).toBeLessThanOrEqual(2048);
    expect(sizes[2]!).toBeLessThanOrEqual(sizes[1]! + 64);

    clock.advance(11_000);
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'token_reused');
    await expectSessionRevoked(deps, current, [current.refreshToken]);
  });

  it('a thief who rotates a stolen token 20 times in a row cannot make the victim’s old token look unknown', async () => {
    // The default per-session refresh limit (30/60s) allows this in well under a second.
    // Every rotated token stays in the session's used-token set, however many rotations later.
    const { deps, clock, tokens } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10', RATE_LIMIT_REFRESH_PER_SESSION: '30/60s' });
    let thief = tokens;
    for (let i = 0; i < 20; i++) thief = await refresh(deps, thief.refreshToken, testContext('198.51.100.66'));
    clock.advance(11_000);

    // The victim presents the token it still holds: it was rotated, so this is reuse, and the
    // whole session (the thief's tokens included) must be revoked.
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'token_reused');
    await expectSessionRevoked(deps, thief, [thief.refreshToken]);
  });

  it('a concurrent refresh inside the grace interval succeeds even if the successor was already rotated again', async () => {
    const { deps, tokens, logger } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '10' });
    // Tab 1 refreshes A -> B and, at once, B -> C; tab 2's refresh of A arrives a moment later,
    // still inside A's grace interval: per SPEC it succeeds and revokes nothing.
    const b = await refresh(deps, tokens.refreshToken, testContext());
    const c = await refresh(deps, b.refreshToken, testContext());
    const late = await refresh(deps, tokens.refreshToken, testContext());

    expect(late.sessionId).toBe(tokens.sessionId);
    expect(logger.named('reuse_detected')).toHaveLength(0);
    expect(await authorize(deps, c.accessToken)).not.toBeNull();
    expect(await authorize(deps, late.accessToken)).not.toBeNull();
    // Its successor works too ("each one works").
    expect((await refresh(deps, late.refreshToken, testContext())).sessionId).toBe(tokens.sessionId);
  });

  it('with REFRESH_REUSE_INTERVAL_SECONDS=0, presenting the old token right away is reuse', async () => {
    const { deps, tokens } = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '0' });
    const next = await refresh(deps, tokens.refreshToken, testContext());
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'token_reused');
    await expectSessionRevoked(deps, next, [next.refreshToken]);
  });
});

describe('tokens that are not this session’s', () => {
  it('garbage, a forged MAC for a real session, or an access token: invalid_token, and nothing changes', async () => {
    const setupResult = await setup({ REFRESH_REUSE_INTERVAL_SECONDS: '0' });
    const { deps, logger } = setupResult;
    let { tokens } = setupResult;
    // One rotation first, so that generation 0 is an earlier token of the session.
    tokens = await refresh(deps, tokens.refreshToken, testContext());
    const before = await sessionRecord(deps, tokens);
    const ttlBefore = await deps.redis.pttl(deps.keys.session(tokens.user.id, tokens.sessionId));

    const mac = () => randomBytes(32).toString('base64url');
    const forged = [
      '',
      'garbage',
      `${randomBytes(16).toString('base64url')}.${randomBytes(16).toString('base64url')}.0.${mac()}`,
      // The real user and session with a MAC of the right shape that this service never made:
      // an older generation (which would be reuse, were it genuine), the current one, the next.
      `${tokens.user.id}.${tokens.sessionId}.0.${mac()}`,
      `${tokens.user.id}.${tokens.sessionId}.1.${mac()}`,
      `${tokens.user.id}.${tokens.sessionId}.2.${mac()}`,
      `${tokens.user.id}.${tokens.sessionId}.`,
      `${tokens.refreshToken}x`,
      tokens.refreshToken.toUpperCase(),
      tokens.accessToken,
    ];
    for (const token of forged) {
      await expectAuthError(refresh(deps, token, testContext()), 'invalid_token');
    }

    expect(logger.named('reuse_detected')).toHaveLength(0);
    expect(await sessionRecord(deps, tokens)).toEqual(before);
    expect(await deps.redis.pttl(deps.keys.session(tokens.user.id, tokens.sessionId))).toBeLessThanOrEqual(ttlBefore);
    // The session still works: its access token authorizes and its refresh token rotates.
    expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
    const next = await refresh(deps, tokens.refreshToken, testContext());
    expect(next.sessionId).toBe(tokens.sessionId);
  });

  it('a refresh token is never accepted as an access token', async () => {
    const { deps, tokens } = await setup();
    expect(await authorize(deps, tokens.refreshToken)).toBeNull();
  });

  it('a refresh token of another session cannot be spliced onto this session id', async () => {
    const { deps, tokens } = await setup();
    const other = await registerAndLogin(deps);
    const [otherUser, otherSession, generation, otherMac] = other.tokens.refreshToken.split('.') as [string, string, string, string];
    await expectAuthError(refresh(deps, `${tokens.user.id}.${tokens.sessionId}.${generation}.${otherMac}`, testContext()), 'invalid_token');
    await expectAuthError(refresh(deps, `${otherUser}.${tokens.sessionId}.${generation}.${otherMac}`, testContext()), 'invalid_token');
    await expectAuthError(refresh(deps, `${tokens.user.id}.${otherSession}.${generation}.${otherMac}`, testContext()), 'invalid_token');
    // Both sessions still rotate.
    expect((await refresh(deps, tokens.refreshToken, testContext())).sessionId).toBe(tokens.sessionId);
    expect((await refresh(deps, other.tokens.refreshToken, testContext())).sessionId).toBe(other.tokens.sessionId);
  });
});

describe('rotating AUTH_SECRET', () => {
  it('with the old value in AUTH_SECRET_PREVIOUS, tokens made under it still refresh (and their successors use the new one); without it, they are invalid and nothing is revoked', async () => {
    const { deps, tokens } = await setup();
    const old = deps.config.redisKeyPrefix;
    const rotating = await createTestDeps({ ...NO_LIMITS, REDIS_KEY_PREFIX: old, AUTH_SECRET: 'b'.repeat(40), AUTH_SECRET_PREVIOUS: TEST_AUTH_SECRET });
    const rotated = await refresh(rotating, tokens.refreshToken, testContext());
    expect(rotated.sessionId).toBe(tokens.sessionId);
    // The successor is made under the new secret: the old deployment cannot read it...
    await expectAuthError(refresh(deps, rotated.refreshToken, testContext()), 'invalid_token');
    // ...and once the previous secret is dropped, only new-secret tokens work.
    const done = await createTestDeps({ ...NO_LIMITS, REDIS_KEY_PREFIX: old, AUTH_SECRET: 'b'.repeat(40) });
    const next = await refresh(done, rotated.refreshToken, testContext());
    expect(next.sessionId).toBe(tokens.sessionId);
    const other = await registerAndLogin(deps);
    await expectAuthError(refresh(done, other.tokens.refreshToken, testContext()), 'invalid_token');
    // Refused for its key, not taken for reuse: the other session still refreshes where its key is known.
    expect((await refresh(deps, other.tokens.refreshToken, testContext())).sessionId).toBe(other.tokens.sessionId);
  });
});

describe('a disabled account', () => {
  it('rotates nothing (account_disabled), even should a session have outlived the disabling', async () => {
    const { deps, tokens } = await setup();
    // The admin Lambda sets the flag, then revokes the sessions: a fault between the two leaves
    // a session alive; the flag alone must stop it.
    await deps.redis.hset(deps.keys.user(tokens.user.id), { dis: '1' });
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'account_disabled');
    await deps.redis.hdel(deps.keys.user(tokens.user.id), 'dis');
    expect((await refresh(deps, tokens.refreshToken, testContext())).sessionId).toBe(tokens.sessionId);
  });
});
