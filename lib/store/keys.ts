/**
 * Every Redis key of the service, built in one place from server-made ids (and the
 * normalized email, which registration validated). No key template appears elsewhere, and no
 * Lua script builds a key: each receives all of its keys in `KEYS` (tests/unit/scripts.test.ts).
 *
 * Layout (SPEC "Storage and scale"): every key holding one user's data carries the user's id
 * as a Redis hash tag, `{<userId>}`, so everything one operation touches lives in one Redis
 * Cluster slot. The email → id index is the one key not tagged by user (login reads it, then
 * works in the user's slot); rate-limit keys are tagged by their own identifier.
 *
 * All keys start with the configured prefix (`REDIS_KEY_PREFIX`, default `auth:`) and the
 * layout version (`v2:`), so several stages or test runs can share one database, and a later
 * layout can coexist with this one. (v1, the layout before hash tags, was never deployed and
 * has no migration.)
 */
export const KEY_LAYOUT_VERSION = 'v2';

/** What an account token (mailed in a link) is for. */
export type AccountTokenPurpose = 'verify' | 'reset' | 'email-change';
export const ACCOUNT_TOKEN_PURPOSES: readonly AccountTokenPurpose[] = ['verify', 'reset', 'email-change'];

export interface RedisKeys {
  /** Hash `{id, pw}`: normalized email → user id and password hash (login's lookup). No TTL. Untagged. */
  emailIndex(email: string): string;
  /** Hash `{id, email, created}`: the user record, found by id. No TTL. */
  user(userId: string): string;
  /**
   * Hash of one session (fields: lib/sessions/session-fields.ts). The key expires at the
   * session's deadline, so Redis drops it even if nothing else touches it.
   */
  session(userId: string, sessionId: string): string;
  /** Sorted set of a user's session ids, scored by the session's deadline (ms). TTL = latest deadline. */
  userSessions(userId: string): string;
  /**
   * Hash of the one pending account token of a purpose (fields: schema.ts ACCOUNT_TOKEN_FIELDS):
   * a newer one replaces it. Expires with the token.
   */
  accountToken(userId: string, purpose: AccountTokenPurpose): string;
  /** Hash of one MFA challenge (a login that passed its password), by the hash of its token's secret. TTL 300 s. */
  mfaChallenge(userId: string, secretHash: string): string;
  /**
   * Hash of a user's passkeys: credential id (base64url) → the credential as JSON
   * (lib/passkeys/store.ts StoredPasskey). At most 10 fields. No TTL.
   */
  passkeys(userId: string): string;
  /**
   * String (JSON, lib/passkeys/challenges.ts) of one pending WebAuthn ceremony, by its
   * challenge (server-made, 256 random bits), which is also its hash tag: a sign-in's
   * challenge belongs to no user yet. TTL 300 s; taken with GETDEL, so it serves once.
   */
  webauthnChallenge(challenge: string): string;
  /**
   * List of the user's security events (lib/security/events.ts), JSON each, newest first,
   * capped at 100 entries; its TTL is renewed by every write, so it expires with an idle account.
   */
  securityEvents(userId: string): string;
  /**
   * Prefix of `@upstash/ratelimit` keys for one limit, e.g. `rateLimit('login-ip')`; the
   * identifier goes in as {@link rateLimitIdentifier}.
   */
  rateLimit(name: string): string;
  /**
   * Stream of revocations (AUTHORIZER_REVOCATION=stream; lib/sessions/revocation-stream.ts),
   * trimmed to the access token lifetime. One key for the whole service, so one Cluster slot
   * (its own hash tag): never in a script with a user's keys. Untagged by user.
   */
  revocations(): string;
}

/**
 * A rate-limit identifier as a hash tag: @upstash/ratelimit's sliding window touches two keys
 * (`<prefix>:<identifier>:<window>` for this window and the last), which must share a slot.
 */
export function rateLimitIdentifier(identifier: string): string {
  return `{${identifier}}`;
}

export function createKeys(prefix: string): RedisKeys {
  const base = `${prefix}${KEY_LAYOUT_VERSION}:`;
  const tagged = (userId: string) => `${base}{${userId}}:`;
  return {
    emailIndex: (email) => `${base}email:${email}`,
    user: (userId) => `${tagged(userId)}user`,
    session: (userId, sessionId) => `${tagged(userId)}session:${sessionId}`,
    userSessions: (userId) => `${tagged(userId)}sessions`,
    accountToken: (userId, purpose) => `${tagged(userId)}token:${purpose}`,
    mfaChallenge: (userId, secretHash) => `${tagged(userId)}mfa:${secretHash}`,
    passkeys: (userId) => `${tagged(userId)}passkeys`,
    webauthnChallenge: (challenge) => `${base}{${challenge}}:webauthn`,
    securityEvents: (userId) => `${tagged(userId)}events`,
    rateLimit: (name) => `${base}rl:${name}`,
    revocations: () => `${base}{revocations}`,
  };
}
