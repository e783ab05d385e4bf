/**
 * Every Redis key of the service, built in one place from server-made ids (and the
 * normalized email, which registration validated). No key template appears elsewhere.
 *
 * All keys start with the configured prefix (`REDIS_KEY_PREFIX`, default `auth:`), so several
 * stages or test runs can share one database without seeing each other's data.
 */
export interface RedisKeys {
  /** Hash `{id, email, pw, created}`: the user record, found by normalized email at login. No TTL. */
  userByEmail(email: string): string;
  /**
   * Hash of one session: `uid, email, created, used, abs, exp, rt, prev, next, rotated, hist,
   * dname, ua, ip`. `exp` (ms) = min(last refresh + refresh TTL, `abs`); the key itself
   * expires at `exp`, so Redis drops it even if nothing else touches it.
   */
  session(sessionId: string): string;
  /**
   * The prefix `session(id)` is built from, handed to Lua scripts that must reach sessions by
   * id (pruning, eviction, logout-all). Must stay equal to `session('')`.
   */
  sessionPrefix: string;
  /**
   * Set of the hashes (128-bit prefixes) of every refresh token the session has rotated, so a
   * stolen token is recognized as reused however many rotations later. Expires with the session.
   */
  sessionUsedTokens(sessionId: string): string;
  /** The prefix `sessionUsedTokens(id)` is built from, for scripts that delete sessions by id. */
  sessionUsedTokensPrefix: string;
  /** Sorted set of a user's session ids, scored by the session's `exp` (ms). TTL = latest `exp`. */
  userSessions(userId: string): string;
  /** The prefix `userSessions(id)` is built from, for scripts that learn the user id in Redis. */
  userSessionsPrefix: string;
  /** Prefix of `@upstash/ratelimit` keys for one limit, e.g. `rateLimit('login-ip')`. */
  rateLimit(name: string): string;
}

export function createKeys(prefix: string): RedisKeys {
  const sessionPrefix = `${prefix}session:`;
  const userSessionsPrefix = `${prefix}user-sessions:`;
  const sessionUsedTokensPrefix = `${prefix}session-used:`;
  return {
    userByEmail: (email) => `${prefix}user:${email}`,
    session: (sessionId) => `${sessionPrefix}${sessionId}`,
    sessionPrefix,
    sessionUsedTokens: (sessionId) => `${sessionUsedTokensPrefix}${sessionId}`,
    sessionUsedTokensPrefix,
    userSessions: (userId) => `${userSessionsPrefix}${userId}`,
    userSessionsPrefix,
    rateLimit: (name) => `${prefix}rl:${name}`,
  };
}
