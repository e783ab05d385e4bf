import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import type { Config, RateLimit } from './config';
import { AuthError, StoreUnavailableError } from './errors';
import { rateLimitIdentifier, type RedisKeys } from './store/keys';

/**
 * The limits enforced with @upstash/ratelimit (refresh is limited inside its rotation script):
 * - `loginPerIp`: login attempts from one client IP (all accounts);
 * - `loginFailuresPerAccountIp`: failed logins of one account from one IP, the brute-force
 *   protection of Auth0: it stops a guesser without touching the owner elsewhere;
 * - `loginFailuresPerAccount`: failed logins of one account from every IP together, the
 *   ceiling against distributed guessing; devices that signed in to the account before are
 *   exempt, so it never locks the owner out of a known device;
 * - `registerPerIp`: registrations from one client IP;
 * - `mailPerEmail`, `mailPerIp`: mails asked for (forgot, resend, verify/request) per address
 *   (known or not) and per client IP;
 * - `mfaPerUser`: wrong second-factor codes per user, across MFA tokens (a thief with the
 *   password cannot grind through codes with fresh logins);
 * - `passkeyLoginPerIp`: passkey sign-ins (options and verifications) per client IP.
 */
export type LimitName = 'loginPerIp' | 'loginFailuresPerAccountIp' | 'loginFailuresPerAccount' | 'registerPerIp' | 'mailPerEmail' | 'mailPerIp' | 'mfaPerUser' | 'passkeyLoginPerIp';

const KEY_NAMES: Record<LimitName, string> = {
  loginPerIp: 'login-ip',
  loginFailuresPerAccountIp: 'login-failures-account-ip',
  loginFailuresPerAccount: 'login-failures-account',
  registerPerIp: 'register-ip',
  mailPerEmail: 'mail-email',
  mailPerIp: 'mail-ip',
  mfaPerUser: 'mfa-user',
  passkeyLoginPerIp: 'passkey-ip',
};

export interface Attempt {
  name: LimitName;
  identifier: string;
}

export interface RateLimiter {
  /**
   * Counts one attempt for `identifier` under each named limit and fails with `rate_limited`
   * (with Retry-After) if any is exhausted. Fails closed: the limiter's `timeout` answer
   * (which @upstash/ratelimit reports as `success: true`) and any Redis error fail with
   * `service_unavailable`, never pass. Limits configured `off` cost nothing.
   */
  check(attempts: Attempt[], nowMs: number): Promise<void>;
  /**
   * Whether each named limit still has room, without counting anything: the names that are
   * exhausted, with the ms until the earliest of them frees up. Faults fail closed (503).
   */
  peek(attempts: Attempt[], nowMs: number): Promise<{ exhausted: Set<LimitName>; retryAfterMs: number }>;
  /** Counts one event (a failed login) under each named limit, whatever the outcome. Faults: 503. */
  record(attempts: Attempt[]): Promise<void>;
}

export function createRateLimiter(redis: Redis, keys: RedisKeys, config: Config): RateLimiter {
  // Built on first use: the authorizer and most routes never check a limit.
  let limiters: Map<LimitName, Ratelimit> | undefined;
  const active = (attempts: Attempt[]) => {
    limiters ??= buildLimiters(redis, keys, config);
    const built = limiters;
    return attempts.flatMap(({ name, identifier }) => {
      const limiter = built.get(name);
      return limiter ? [{ name, limiter, identifier: rateLimitIdentifier(identifier) }] : [];
    });
  };
  const guarded = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  };

  return {
    async check(attempts, nowMs) {
      const limits = active(attempts);
      if (limits.length === 0) return;
      const results = await guarded(() => Promise.all(limits.map(({ limiter, identifier }) => limiter.limit(identifier))));
      let retryAfterMs = 0;
      for (const result of results) {
        if (result.reason === 'timeout') throw new StoreUnavailableError(new Error('rate limiter timed out'));
        if (!result.success) retryAfterMs = Math.max(retryAfterMs, result.reset - nowMs);
      }
      if (retryAfterMs > 0 || results.some((result) => !result.success)) {
        throw new AuthError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
      }
    },

    async peek(attempts, nowMs) {
      const limits = active(attempts);
      const results = await guarded(() => Promise.all(limits.map(({ limiter, identifier }) => limiter.getRemaining(identifier))));
      const exhausted = new Set<LimitName>();
      let retryAfterMs = 0;
      results.forEach((result, index) => {
        if (result.remaining > 0) return;
        exhausted.add(limits[index]!.name);
        retryAfterMs = Math.max(retryAfterMs, result.reset - nowMs);
      });
      return { exhausted, retryAfterMs };
    },

    async record(attempts) {
      const limits = active(attempts);
      const results = await guarded(() => Promise.all(limits.map(({ limiter, identifier }) => limiter.limit(identifier))));
      if (results.some((result) => result.reason === 'timeout')) throw new StoreUnavailableError(new Error('rate limiter timed out'));
    },
  };
}

function buildLimiters(redis: Redis, keys: RedisKeys, config: Config): Map<LimitName, Ratelimit> {
  const limiters = new Map<LimitName, Ratelimit>();
  for (const name of Object.keys(KEY_NAMES) as LimitName[]) {
    const limit: RateLimit = config.rateLimits[name];
    if (!limit) continue;
    limiters.set(
      name,
      new Ratelimit({
        redis,
        prefix: keys.rateLimit(KEY_NAMES[name]),
        limiter: Ratelimit.slidingWindow(limit.limit, `${limit.windowSeconds} s`),
        // 0 = no race against a timer: a slow Redis throws (→ 503) instead of the default
        // "timeout" answer, which is success: true.
        timeout: 0,
        analytics: false,
        // No in-process cache of blocked identifiers: every decision is Redis's, so a limit
        // is shared exactly across all Lambda instances.
        ephemeralCache: false,
      }),
    );
  }
  return limiters;
}
