import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import type { Config, RateLimit } from './config';
import { AuthError, StoreUnavailableError } from './errors';
import { rateLimitIdentifier, type RedisKeys } from './store/keys';

/** The limits enforced with @upstash/ratelimit (refresh is limited inside its rotation script). */
export type LimitName = 'loginPerIp' | 'loginPerAccount' | 'registerPerIp';

const KEY_NAMES: Record<LimitName, string> = {
  loginPerIp: 'login-ip',
  loginPerAccount: 'login-account',
  registerPerIp: 'register-ip',
};

export interface RateLimiter {
  /**
   * Counts one attempt for `identifier` under each named limit and fails with `rate_limited`
   * (with Retry-After) if any is exhausted. Fails closed: the limiter's `timeout` answer
   * (which @upstash/ratelimit reports as `success: true`) and any Redis error fail with
   * `service_unavailable`, never pass. Limits configured `off` cost nothing.
   */
  check(attempts: { name: LimitName; identifier: string }[], nowMs: number): Promise<void>;
}

export function createRateLimiter(redis: Redis, keys: RedisKeys, config: Config): RateLimiter {
  // Built on first use: the authorizer and most routes never check a limit.
  let limiters: Map<LimitName, Ratelimit> | undefined;
  const limiterFor = (name: LimitName): Ratelimit | undefined => {
    limiters ??= buildLimiters(redis, keys, config);
    return limiters.get(name);
  };

  return {
    async check(attempts, nowMs) {
      const active = attempts.flatMap(({ name, identifier }) => {
        const limiter = limiterFor(name);
        return limiter ? [{ limiter, identifier }] : [];
      });
      if (active.length === 0) return;
      let results;
      try {
        results = await Promise.all(active.map(({ limiter, identifier }) => limiter.limit(rateLimitIdentifier(identifier))));
      } catch (error) {
        throw new StoreUnavailableError(error);
      }
      let retryAfterMs = 0;
      for (const result of results) {
        if (result.reason === 'timeout') throw new StoreUnavailableError(new Error('rate limiter timed out'));
        if (!result.success) retryAfterMs = Math.max(retryAfterMs, result.reset - nowMs);
      }
      if (retryAfterMs > 0 || results.some((result) => !result.success)) {
        throw new AuthError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
      }
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
