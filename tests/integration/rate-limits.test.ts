/**
 * Rate limits against a real Redis: login per account (normalized email) and per IP, register
 * per IP, refresh per session (inside the rotation script, consuming nothing when limited),
 * `off`, and failing closed when the limiter's Redis is down.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { authorize, login, refresh, register } from '../../lib/auth';
import { createRateLimiter } from '../../lib/rate-limit';
import { createRedisClient } from '../../lib/store/redis';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import { captureLogger, expectAuthError, outcomeOf, PASSWORD, registerAndLogin, startOwnStore, uniqueEmail, type OwnStore } from './helpers';

const ALL_OFF = {
  RATE_LIMIT_REGISTER_PER_IP: 'off',
  RATE_LIMIT_LOGIN_PER_IP: 'off',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: 'off',
  RATE_LIMIT_REFRESH_PER_SESSION: 'off',
};

async function setup(env: Record<string, string>) {
  const clock = createTestClock();
  const logger = captureLogger();
  const deps = await createTestDeps({ ...ALL_OFF, ...env }, { clock, logger });
  return { deps, clock, logger };
}

/** A distinct documentation-range IP per call, so per-IP limits stay out of per-account tests. */
let ipCounter = 0;
const freshIp = (): string => `192.0.2.${(ipCounter++ % 250) + 1}`;
const uniqueIp = (): string => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;

describe('login failures per account, from all IPs (the ceiling against distributed guessing)', () => {
  it('after 3 failures from 3 IPs, refuses a 4th IP that never signed in, even with the right password', async () => {
    const { deps, logger } = await setup({ RATE_LIMIT_LOGIN_PER_ACCOUNT: '3/60s' });
    const email = uniqueEmail();
    const user = await register(deps, { email, password: PASSWORD }, testContext());

    for (let i = 0; i < 3; i++) {
      await expectAuthError(login(deps, { email, password: 'wrong password' }, testContext(freshIp())), 'invalid_credentials');
    }
    const limited = await expectAuthError(login(deps, { email, password: PASSWORD }, testContext(freshIp())), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Refused before any session was made.
    expect(await deps.redis.exists(deps.keys.userSessions(user.id))).toBe(0);
    expect(logger.named('rate_limited')).toEqual([expect.objectContaining({ outcome: 'denied', reason: 'login' })]);
    expect(logger.named('login_ok')).toHaveLength(0);
  });

  it('never locks the owner out of a known device: one that signed in before still gets in past the ceiling', async () => {
    const { deps } = await setup({ RATE_LIMIT_LOGIN_PER_ACCOUNT: '3/60s' });
    const email = uniqueEmail('owner');
    await register(deps, { email, password: PASSWORD }, testContext());
    const ownersLaptop = freshIp();
    await login(deps, { email, password: PASSWORD }, testContext(ownersLaptop));

    // Ten wrong passwords from ten IPs: the ceiling is reached.
    for (let i = 0; i < 10; i++) {
      const outcome = await outcomeOf(login(deps, { email, password: 'wrong password' }, testContext(freshIp())));
      expect(['invalid_credentials', 'rate_limited']).toContain(outcome.code);
    }
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext(freshIp())), 'rate_limited');
    // The owner's laptop: in, with the right password.
    const tokens = await login(deps, { email, password: PASSWORD }, testContext(ownersLaptop));
    expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
    // The wrong password from it is still just wrong (the ceiling does not hide it), and counted.
    await expectAuthError(login(deps, { email, password: 'wrong password' }, testContext(ownersLaptop)), 'invalid_credentials');
  });

  it('counts every spelling of one email (case, whitespace) against the one account, and successes not at all', async () => {
    const { deps } = await setup({ RATE_LIMIT_LOGIN_PER_ACCOUNT: '3/60s' });
    const email = uniqueEmail('case');
    await register(deps, { email, password: PASSWORD }, testContext());

    // Successes do not count.
    for (let i = 0; i < 5; i++) await login(deps, { email: email.toUpperCase(), password: PASSWORD }, testContext(freshIp()));
    for (const spelling of [`  ${email}  `, email.toUpperCase(), `\t${email.replace(/^./, (c) => c.toUpperCase())}\n`]) {
      await expectAuthError(login(deps, { email: spelling, password: 'wrong password' }, testContext(freshIp())), 'invalid_credentials');
    }
    const limited = await expectAuthError(login(deps, { email: ` ${email.toUpperCase()}`, password: PASSWORD }, testContext(freshIp())), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);

    // Another account is not affected.
    const other = await registerAndLogin(deps);
    expect(other.tokens.accessToken).toBeTruthy();
  });

  it('counts unknown emails like real ones (the limit does not tell them apart)', async () => {
    const { deps } = await setup({ RATE_LIMIT_LOGIN_PER_ACCOUNT: '2/60s' });
    const nobody = uniqueEmail('nobody');
    for (let i = 0; i < 2; i++) await expectAuthError(login(deps, { email: nobody, password: PASSWORD }, testContext(freshIp())), 'invalid_credentials');
    await expectAuthError(login(deps, { email: nobody, password: PASSWORD }, testContext(freshIp())), 'rate_limited');
  });
});

describe('login failures per account and IP (brute-force protection)', () => {
  it('stops a guesser’s IP for that account, while the owner signs in from another IP (even a new one)', async () => {
    const { deps } = await setup({ RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: '3/60s', RATE_LIMIT_LOGIN_PER_ACCOUNT: '100/60s' });
    const email = uniqueEmail('victim');
    await register(deps, { email, password: PASSWORD }, testContext());
    const guesser = freshIp();
    for (let i = 0; i < 3; i++) await expectAuthError(login(deps, { email, password: `guess ${i}` }, testContext(guesser)), 'invalid_credentials');
    // The guesser's IP is refused for this account, even with the right password...
    const limited = await expectAuthError(login(deps, { email, password: PASSWORD }, testContext(guesser)), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // ...but not for another account,
    const other = await registerAndLogin(deps);
    expect((await login(deps, { email: other.email, password: PASSWORD }, testContext(guesser))).user.id).toBe(other.userId);
    // and the owner, from an IP that never signed in, gets in.
    const tokens = await login(deps, { email, password: PASSWORD }, testContext(freshIp()));
    expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
  });

  it('stores no IP in Redis, only keyed tags of the known devices', async () => {
    const { deps } = await setup({});
    const email = uniqueEmail('tags');
    await register(deps, { email, password: PASSWORD }, testContext());
    const ip = '203.0.113.99';
    await login(deps, { email, password: PASSWORD }, testContext(ip));
    const index = JSON.stringify(await deps.redis.hgetall(deps.keys.emailIndex(email)));
    expect(index).not.toContain(ip);
    expect(index).toMatch(/"kd"/);
  });
});

describe('login per IP', () => {
  it('limits attempts on different accounts from one IP, but not from another IP', async () => {
    const { deps } = await setup({ RATE_LIMIT_LOGIN_PER_IP: '3/60s' });
    const ip = uniqueIp();
    const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail(), uniqueEmail()];
    for (const email of emails) await register(deps, { email, password: PASSWORD }, testContext());

    await login(deps, { email: emails[0]!, password: PASSWORD }, testContext(ip));
    await expectAuthError(login(deps, { email: emails[1]!, password: 'wrong password' }, testContext(ip)), 'invalid_credentials');
    await expectAuthError(login(deps, { email: uniqueEmail('unknown'), password: PASSWORD }, testContext(ip)), 'invalid_credentials');
    const limited = await expectAuthError(login(deps, { email: emails[3]!, password: PASSWORD }, testContext(ip)), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);

    const elsewhere = await login(deps, { email: emails[3]!, password: PASSWORD }, testContext(uniqueIp()));
    expect(await authorize(deps, elsewhere.accessToken)).not.toBeNull();
  });
});

describe('register per IP', () => {
  it('limits registrations from one IP and stores nothing for the refused one', async () => {
    const { deps } = await setup({ RATE_LIMIT_REGISTER_PER_IP: '2/60s' });
    const ip = uniqueIp();
    await register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext(ip));
    await register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext(ip));
    const refused = uniqueEmail();
    const limited = await expectAuthError(register(deps, { email: refused, password: PASSWORD }, testContext(ip)), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await deps.redis.exists(deps.keys.emailIndex(refused))).toBe(0);

    const user = await register(deps, { email: refused, password: PASSWORD }, testContext(uniqueIp()));
    expect(user.email).toBe(refused);
  });
});

describe('refresh per session', () => {
  it('refuses the 3rd refresh in the window without consuming the presented token', async () => {
    const { deps, clock, logger } = await setup({ RATE_LIMIT_REFRESH_PER_SESSION: '2/60s' });
    // Start just after a window boundary, so the sliding window's previous part is empty.
    clock.advance(60_000 - (clock.now() % 60_000) + 1_000);
    const { tokens } = await registerAndLogin(deps);
    const first = await refresh(deps, tokens.refreshToken, testContext());
    const second = await refresh(deps, first.refreshToken, testContext());

    const limited = await expectAuthError(refresh(deps, second.refreshToken, testContext()), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(logger.named('rate_limited')).toEqual([expect.objectContaining({ sessionId: tokens.sessionId, reason: 'refresh_per_session' })]);
    // Still limited later in the window, still not consumed, and the session is untouched.
    clock.advance(30_000);
    await expectAuthError(refresh(deps, second.refreshToken, testContext()), 'rate_limited');
    expect(await authorize(deps, second.accessToken)).not.toBeNull();
    // Early in the next window the previous one still weighs (a sliding window, not a fixed
    // one that would allow a full burst again): 2 × 0.9 + 0 < 2 lets one through, 2 × 0.9 + 1
    // does not.
    clock.advance(35_000);
    const third = await refresh(deps, second.refreshToken, testContext());
    expect(third.sessionId).toBe(tokens.sessionId);
    await expectAuthError(refresh(deps, third.refreshToken, testContext()), 'rate_limited');
    clock.advance(120_000);
    await refresh(deps, third.refreshToken, testContext());
    expect(logger.named('reuse_detected')).toHaveLength(0);
  });

  it('tokens the session never issued do not use up its limit', async () => {
    const { deps } = await setup({ RATE_LIMIT_REFRESH_PER_SESSION: '2/60s' });
    const { tokens } = await registerAndLogin(deps);
    for (let i = 0; i < 5; i++) {
      await expectAuthError(refresh(deps, `${tokens.sessionId}.${randomBytes(32).toString('base64url')}`, testContext()), 'invalid_token');
    }
    const first = await refresh(deps, tokens.refreshToken, testContext());
    await refresh(deps, first.refreshToken, testContext());
  });
});

describe('off', () => {
  it('disables every limit (and writes no limiter key)', async () => {
    const { deps } = await setup({});
    const ip = uniqueIp();
    const email = uniqueEmail();
    for (let i = 0; i < 25; i++) await register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext(ip));
    await register(deps, { email, password: PASSWORD }, testContext(ip));
    const attempts = await Promise.all(Array.from({ length: 30 }, () => outcomeOf(login(deps, { email, password: 'wrong password' }, testContext(ip)))));
    expect(attempts.every((a) => a.code === 'invalid_credentials')).toBe(true);

    let tokens = await login(deps, { email, password: PASSWORD }, testContext(ip));
    for (let i = 0; i < 40; i++) tokens = await refresh(deps, tokens.refreshToken, testContext(ip));
    expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
    expect(await deps.redis.keys(`${deps.keys.rateLimit('')}*`)).toEqual([]);
  });
});

describe('a limiter whose Redis is down', () => {
  let store: OwnStore | undefined;
  afterEach(async () => {
    await store?.stop();
    store = undefined;
  });

  it('fails with service_unavailable, never a pass, when Redis stops', async () => {
    store = await startOwnStore();
    const limits = { RATE_LIMIT_LOGIN_PER_IP: '100/60s', RATE_LIMIT_LOGIN_PER_ACCOUNT: '100/60s', RATE_LIMIT_REGISTER_PER_IP: '100/60s' };
    const { deps } = await setup({ ...limits, ...store.env });
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());
    await login(deps, { email, password: PASSWORD }, testContext());

    await store.stopRedis();
    for (const attempt of [
      login(deps, { email, password: PASSWORD }, testContext()),
      register(deps, { email: uniqueEmail(), password: PASSWORD }, testContext()),
    ]) {
      const error = await expectAuthError(attempt, 'service_unavailable');
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it('fails with service_unavailable when only the limiter’s Redis is unreachable (the user store is up)', async () => {
    const limits = { RATE_LIMIT_LOGIN_PER_IP: '100/60s', RATE_LIMIT_LOGIN_PER_ACCOUNT: '100/60s', RATE_LIMIT_REGISTER_PER_IP: '100/60s' };
    const { deps: live } = await setup(limits);
    const email = uniqueEmail();
    await register(live, { email, password: PASSWORD }, testContext());

    const deadRedis = createRedisClient({ url: 'http://127.0.0.1:9', token: 'x', timeoutMs: 1000 });
    const deps = { ...live, rateLimiter: createRateLimiter(deadRedis, live.keys, live.config) };
    const loginError = await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'service_unavailable');
    expect(loginError.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const fresh = uniqueEmail();
    await expectAuthError(register(deps, { email: fresh, password: PASSWORD }, testContext()), 'service_unavailable');
    expect(await live.redis.exists(live.keys.emailIndex(fresh))).toBe(0);
    // The same login with a working limiter succeeds: it was the limiter's fault that refused it.
    const tokens = await login(live, { email, password: PASSWORD }, testContext());
    expect(await authorize(live, tokens.accessToken)).not.toBeNull();
  });
});
