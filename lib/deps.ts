import { randomBytes } from 'node:crypto';
import { Redis, type Requester } from '@upstash/redis';
import { ALL_NEEDS, loadConfig, type Config, type ConfigNeeds } from './config';
import type { MailConfig } from './config';
import type { Mailer } from './mail/mailer';

/**
 * Makes the mail adapter (lib/mail/mailer.ts `createMailer`). Passed in by the functions that
 * send mail rather than imported here, so that nodemailer and the SES client are bundled into
 * those functions only, not into the authorizer or the others.
 */
export type MailerFactory = (config: MailConfig) => Mailer;
import { createAuthLogger, type AuthLogger } from './log';
import { createRateLimiter, type RateLimiter } from './rate-limit';
import { createKeys, type RedisKeys } from './store/keys';
import { createRedisClient, withSameTickPipeline } from './store/redis';
import { loadKeyRing, type KeyRing } from './tokens/key-ring';

/** Milliseconds since the epoch. Everything time-dependent reads this one clock. */
export interface Clock {
  now(): number;
}

/** Server-made random ids (128 bits, base64url). Injected so tests can pin them. */
export interface Ids {
  userId(): string;
  sessionId(): string;
  tokenId(): string;
}

/** What every `lib/` operation receives: built once per cold start, never per request. */
export interface Deps {
  config: Config;
  redis: Redis;
  /**
   * The same connection pool, but commands issued in one tick go out as one `/pipeline`
   * request (login's rate limits and user lookup). Everything else uses `redis`.
   */
  pipelinedRedis: Redis;
  keys: RedisKeys;
  keyRing: KeyRing;
  clock: Clock;
  ids: Ids;
  logger: AuthLogger;
  rateLimiter: RateLimiter;
  /** The mail port (lib/mail/mailer.ts); a function configured without `mail` has one that refuses. */
  mailer: Mailer;
}

export const systemClock: Clock = { now: () => Date.now() };

const randomId = (): string => randomBytes(16).toString('base64url');
export const randomIds: Ids = { userId: randomId, sessionId: randomId, tokenId: randomId };

/**
 * Loads and validates the configuration, imports the keys and creates the Redis client.
 * Throws a ConfigError naming the variable when the configuration is unusable.
 */
export async function createDeps(
  overrides: Partial<Omit<Deps, 'config'>> & { env?: Record<string, string | undefined>; needs?: ConfigNeeds; createMailer?: MailerFactory } = {},
): Promise<Deps> {
  const config = loadConfig(overrides.env ?? process.env, overrides.needs ?? ALL_NEEDS);
  const redis =
    overrides.redis ??
    (config.needs.store ? createRedisClient({ url: config.redisUrl, token: config.redisToken, timeoutMs: config.redisTimeoutMs }) : noStore());
  const keys = overrides.keys ?? createKeys(config.redisKeyPrefix);
  const pipelinedRedis = overrides.pipelinedRedis ?? withSameTickPipeline(redis);
  return {
    config,
    redis,
    pipelinedRedis,
    keys,
    rateLimiter: overrides.rateLimiter ?? createRateLimiter(pipelinedRedis, keys, config),
    keyRing: overrides.keyRing ?? (await loadKeyRing(config)),
    clock: overrides.clock ?? systemClock,
    ids: overrides.ids ?? randomIds,
    logger: overrides.logger ?? createAuthLogger(),
    mailer: overrides.mailer ?? (config.mail && overrides.createMailer ? overrides.createMailer(config.mail) : noMail),
  };
}

/** The client of a function configured without `store`: it has no Redis credentials, so any use is a bug. */
function noStore(): Redis {
  const requester: Requester = {
    request: () => Promise.reject(new Error('this function is configured without Redis (no `store` need)')),
  };
  return new Redis(requester);
}

/** The mailer of a function configured without `mail`: any use is a bug. */
const noMail: Mailer = { send: () => Promise.reject(new Error('this function is configured without mail (no `mail` need)')) };
