import type { Redis } from '@upstash/redis';
import type { Deps } from '../deps';
import type { RedisKeys } from '../store/keys';
import { readHashFields, runScript } from '../store/redis';
import { CREATE_SESSION } from '../store/scripts/create-session';
import { LIST_SESSIONS } from '../store/scripts/list-sessions';
import { REVOKE_ALL_SESSIONS } from '../store/scripts/revoke-all-sessions';
import { REVOKE_SESSION } from '../store/scripts/revoke-session';
import { ROTATE_REFRESH_TOKEN } from '../store/scripts/rotate-refresh-token';
import {
  createRefreshSecret,
  formatRefreshToken,
  hashRefreshSecret,
  openSuccessor,
  parseRefreshToken,
  sealSuccessor,
} from '../tokens/refresh-token';
import type { User } from '../users/users';

/** How many rotated tokens keep their sealed successor, for the grace interval's chain. */
const GRACE_CHAIN_LENGTH = 16;
const MAX_DEVICE_NAME = 100;
const MAX_USER_AGENT = 512;

/**
 * A device name as stored: control, format (zero-width, bidi override) characters and lone
 * surrogates removed, trimmed, and cut to at most 100 code points (never inside a pair).
 */
export function sanitizeDeviceName(name: string): string {
  return [...name.replace(/[\p{Cc}\p{Cf}\uD800-\uDFFF]/gu, '').trim()].slice(0, MAX_DEVICE_NAME).join('');
}

export interface Device {
  name: string;
  userAgent: string;
  ip: string;
}

export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  device: Device;
  current: boolean;
}

/** A session with the refresh token that now belongs to it. */
export interface IssuedSession {
  sessionId: string;
  user: User;
  refreshToken: string;
  /** The session's deadline (ms) = the refresh token's expiry. */
  expiresAtMs: number;
}

export type RotationResult =
  | { outcome: 'rotated' | 'grace'; session: IssuedSession }
  | { outcome: 'limited'; sessionId: string; retryAfterMs: number }
  | { outcome: 'reused' | 'invalid'; sessionId?: string };

/**
 * A session's deadline: the earlier of its idle deadline (last refresh + refresh token
 * lifetime) and its absolute one (creation + SESSION_MAX_TTL_SECONDS), in ms.
 */
export function sessionDeadline(lastRefreshMs: number, absoluteDeadlineMs: number, refreshTokenTtlSeconds: number): number {
  return Math.min(lastRefreshMs + refreshTokenTtlSeconds * 1000, absoluteDeadlineMs);
}

/**
 * Creates a session for a user with its first refresh token, enters it in the user's index,
 * prunes expired entries and revokes the sessions beyond MAX_SESSIONS_PER_USER: one store
 * request, one atomic step. Returns the ids of sessions evicted by the cap.
 */
export async function createSession(deps: Deps, user: User, device: Device): Promise<IssuedSession & { evicted: string[] }> {
  const { config, keys } = deps;
  const now = deps.clock.now();
  const sessionId = deps.ids.sessionId();
  const secret = createRefreshSecret();
  const absolute = now + config.sessionMaxTtlSeconds * 1000;
  const expiresAtMs = sessionDeadline(now, absolute, config.refreshTokenTtlSeconds);

  const evicted = await runScript<string[]>(
    deps.redis,
    CREATE_SESSION,
    [keys.session(sessionId), keys.userSessions(user.id)],
    [
      now, expiresAtMs, config.maxSessionsPerUser, keys.sessionPrefix, sessionId, keys.sessionUsedTokensPrefix,
      'uid', user.id, 'email', user.email, 'created', now, 'used', now, 'abs', absolute, 'exp', expiresAtMs,
      'rt', hashRefreshSecret(secret),
      'dname', sanitizeDeviceName(device.name), 'ua', device.userAgent.slice(0, MAX_USER_AGENT), 'ip', device.ip,
    ],
  );
  return { sessionId, user, refreshToken: formatRefreshToken(sessionId, secret), expiresAtMs, evicted };
}

/**
 * Exchanges a refresh token for its successor, atomically (see the rotate-refresh-token
 * script): `rotated` for the current token; `grace` for the previous one within
 * REFRESH_REUSE_INTERVAL_SECONDS of its rotation (same successor, nothing revoked); `reused`
 * for an older one, which has revoked the whole session; `invalid` for anything else
 * (malformed, unknown, expired), which changes nothing; `limited` when the session used up
 * RATE_LIMIT_REFRESH_PER_SESSION (nothing consumed). One store request.
 */
export async function rotateRefreshToken(deps: Deps, refreshToken: string): Promise<RotationResult> {
  const parsed = parseRefreshToken(refreshToken);
  if (!parsed) return { outcome: 'invalid' };
  const { config, keys } = deps;
  const successor = createRefreshSecret();

  const reply = await runScript<string[]>(deps.redis, ROTATE_REFRESH_TOKEN, [keys.session(parsed.sessionId), keys.sessionUsedTokens(parsed.sessionId)], [
    hashRefreshSecret(parsed.secret),
    hashRefreshSecret(successor),
    sealSuccessor(parsed.secret, successor),
    deps.clock.now(),
    config.refreshReuseIntervalSeconds * 1000,
    config.refreshTokenTtlSeconds * 1000,
    parsed.sessionId,
    GRACE_CHAIN_LENGTH,
    keys.userSessionsPrefix,
    config.rateLimits.refreshPerSession?.limit ?? 0,
    (config.rateLimits.refreshPerSession?.windowSeconds ?? 0) * 1000,
  ]);

  const [outcome, userId, email, expiresAt, sealed] = reply;
  if ((outcome === 'rotated' || outcome === 'grace') && userId && email && expiresAt) {
    // Grace: walk the chain of sealed successors from the presented token to the current one.
    const secret =
      outcome === 'rotated' ? successor : (sealed ?? '').split(' ').reduce((previous, next) => openSuccessor(previous, next), parsed.secret);
    return {
      outcome,
      session: {
        sessionId: parsed.sessionId,
        user: { id: userId, email },
        refreshToken: formatRefreshToken(parsed.sessionId, secret),
        expiresAtMs: Number(expiresAt),
      },
    };
  }
  if (outcome === 'limited') return { outcome, sessionId: parsed.sessionId, retryAfterMs: Number(userId) };
  return { outcome: outcome === 'reused' ? 'reused' : 'invalid', sessionId: parsed.sessionId };
}

/**
 * Revokes one session if it is a live session of `userId`; false (nothing changed) for an
 * unknown id, an expired session or another user's. One store request.
 */
export async function revokeSession(deps: Deps, userId: string, sessionId: string): Promise<boolean> {
  const revoked = await runScript<number>(
    deps.redis,
    REVOKE_SESSION,
    [deps.keys.session(sessionId), deps.keys.userSessions(userId), deps.keys.sessionUsedTokens(sessionId)],
    [sessionId, userId, deps.clock.now()],
  );
  return revoked === 1;
}

/** Revokes every session of a user in one atomic step; returns how many. One store request. */
export function revokeAllSessions(deps: Deps, userId: string): Promise<number> {
  return runScript<number>(deps.redis, REVOKE_ALL_SESSIONS, [deps.keys.userSessions(userId)], [
    deps.keys.sessionPrefix,
    deps.keys.sessionUsedTokensPrefix,
  ]);
}

/**
 * A user's live sessions, newest first, with no secret in them; `current` marks
 * `currentSessionId`. Prunes expired entries from the index. One store request.
 */
export async function listSessions(deps: Deps, userId: string, currentSessionId: string): Promise<SessionView[]> {
  const flat = await runScript<string[]>(deps.redis, LIST_SESSIONS, [deps.keys.userSessions(userId)], [
    deps.clock.now(),
    deps.keys.sessionPrefix,
    deps.keys.sessionUsedTokensPrefix,
  ]);
  const sessions: SessionView[] = [];
  for (let i = 0; i + 6 < flat.length; i += 7) {
    const [id, created, used, exp, name, userAgent, ip] = flat.slice(i, i + 7) as [string, string, string, string, string, string, string];
    sessions.push({
      id,
      createdAt: new Date(Number(created)).toISOString(),
      lastUsedAt: new Date(Number(used)).toISOString(),
      expiresAt: new Date(Number(exp)).toISOString(),
      device: { name, userAgent, ip },
      current: id === currentSessionId,
    });
  }
  return sessions.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

/**
 * Reads a session for an authorization decision: the session's user if it is alive and
 * belongs to `userId`, else `null`. One read-only store request (HMGET), no writes: the
 * authorizer's whole Redis cost.
 */
export function findLiveSession(deps: Deps, userId: string, sessionId: string): Promise<User | null> {
  return readLiveSession(deps.redis, deps.keys, userId, sessionId, deps.clock.now());
}

/**
 * {@link findLiveSession} on a bare client, for verifiers outside this service's deps
 * (lib/verify.ts). One read-only request.
 */
export async function readLiveSession(redis: Redis, keys: RedisKeys, userId: string, sessionId: string, nowMs: number): Promise<User | null> {
  const [uid, email, exp] = await readHashFields(redis, keys.session(sessionId), ['uid', 'email', 'exp']);
  // `exp` is checked here too, not only by the key's TTL, so a decision never depends on
  // when Redis gets round to expiring a key.
  if (uid !== userId || !email || !(Number(exp) > nowMs)) return null;
  return { id: userId, email };
}
