import { randomBytes } from 'node:crypto';
import type { Redis } from '@upstash/redis';
import type { Device, Session } from '../../client/src/contract';
import type { Deps } from '../deps';
import type { Config } from '../config';
import { AuthError, ConfigError, StoreUnavailableError } from '../errors';
import type { RedisKeys } from '../store/keys';
import { SESSION_FIELDS as F } from '../store/schema';
import { guardStore, readHashFields, runScript } from '../store/redis';
import { CREATE_SESSION } from '../store/scripts/create-session';
import { LIST_SESSIONS } from '../store/scripts/list-sessions';
import { REVOKE_SESSION } from '../store/scripts/revoke-session';
import { REVOKE_SESSIONS } from '../store/scripts/revoke-sessions';
import { ROTATE_REFRESH_TOKEN } from '../store/scripts/rotate-refresh-token';
import { securityEvent, securityEventArgs, type SecurityEvent } from '../security/events';
import { formatRefreshToken, parseRefreshToken } from '../tokens/refresh-token';
import { appendAfterScript, appendRevocations, streamsRevocations } from './revocation-stream';
import { readUser, type RegisteredUser, type User } from '../users/users';

/** How many rotation times a session keeps: tokens this many generations back can still get grace. */
const ROTATION_HISTORY = 16;
/**
 * How often an operation over a variable set of sessions (login's eviction, logout-all, list)
 * reads the index again when it changed before the script ran; then 503.
 */
const MAX_INDEX_ATTEMPTS = 5;
/** How long a login waits for its second factor. */
export const MFA_CHALLENGE_TTL_MS = 300_000;
const MAX_DEVICE_NAME = 100;
const MAX_USER_AGENT = 512;

/**
 * A device name as stored: control, format (zero-width, bidi override) characters and lone
 * surrogates removed, trimmed, and cut to at most 100 code points (never inside a pair).
 */
export function sanitizeDeviceName(name: string): string {
  return [...name.replace(/[\p{Cc}\p{Cf}\uD800-\uDFFF]/gu, '').trim()].slice(0, MAX_DEVICE_NAME).join('');
}

/** A session with the refresh token that now belongs to it. */
export interface IssuedSession {
  sessionId: string;
  user: User;
  refreshToken: string;
  /** The session's deadline (ms) = the refresh token's expiry. */
  expiresAtMs: number;
  /** How it was authenticated (kept by the session, carried by every access token of it). */
  aal: 1 | 2;
  amr: string[];
}

/** How a session was authenticated: a password (aal 1), or a password and a second factor (aal 2). */
export interface Assurance {
  aal: 1 | 2;
  amr: string[];
}

export const PASSWORD_ONLY: Assurance = { aal: 1, amr: ['pwd'] };

const parseAal = (value: string | null | undefined): 1 | 2 => (value === '2' ? 2 : 1);
const parseAmr = (value: string | null | undefined): string[] => (value ? value.split(' ') : ['pwd']);

export type RotationResult =
  | { outcome: 'rotated' | 'grace'; session: IssuedSession }
  | { outcome: 'limited'; sessionId: string; retryAfterMs: number }
  | { outcome: 'reused'; sessionId: string; userId: string; email: string }
  | { outcome: 'disabled'; sessionId: string; userId: string }
  | { outcome: 'invalid'; sessionId?: string };

/** The refresh tokens' MAC keys (current first); only functions configured to `sign` hold them. */
function refreshKeysOf(config: Config): Buffer[] {
  if (config.refreshTokenKeys.length === 0) throw new ConfigError('AUTH_SECRET is required by a function that issues or rotates refresh tokens.');
  return config.refreshTokenKeys;
}

/** New tokens are made under the current key only. */
function refreshKeyOf(config: Config): Buffer {
  return refreshKeysOf(config)[0]!;
}

/** The refresh token of a session's current generation (tokens are deterministic per generation). */
export function currentRefreshToken(config: Config, userId: string, sessionId: string, generation: number): string {
  return formatRefreshToken(refreshKeyOf(config), { userId, sessionId, generation });
}

/**
 * A session's deadline: the earlier of its idle deadline (last refresh + refresh token
 * lifetime) and its absolute one (creation + SESSION_MAX_TTL_SECONDS), in ms.
 */
export function sessionDeadline(lastRefreshMs: number, absoluteDeadlineMs: number, refreshTokenTtlSeconds: number): number {
  return Math.min(lastRefreshMs + refreshTokenTtlSeconds * 1000, absoluteDeadlineMs);
}

/**
 * Creates a session for a user with its first refresh token, enters it in the user's index,
 * prunes expired entries and revokes the sessions beyond MAX_SESSIONS_PER_USER (those closest
 * to their deadline), atomically. One store request; one more when the cap evicts (the
 * script must be handed the evicted sessions' keys). Returns the ids of evicted sessions.
 * `options.redis`: the client to send it on (login's same-tick pipelined one).
 * Fails with `invalid_credentials` when the user record is gone (deleted meanwhile), with
 * `account_disabled` when an administrator disabled the account. The same script records the
 * `login_ok` security event and the user's last login time.
 */
export async function createSession(
  deps: Deps,
  user: User,
  device: Device,
  options: { redis?: Redis; assurance?: Assurance } = {},
): Promise<IssuedSession & { evicted: string[] }> {
  const started = await openSession(deps, user, device, options);
  if ('mfaRequired' in started) throw new Error('unreachable: no challenge was asked for');
  return started;
}

/** An MFA challenge made instead of a session: its key's token (`<user id>.<secret>`). */
export interface ChallengeIssued {
  mfaRequired: true;
  /** The user's passkeys: with any, a passkey also answers the challenge. */
  passkeys: number;
}

/**
 * {@link createSession} for a password login: when the user has TOTP on, the same atomic step
 * stores `challenge` (the MFA challenge key and what it keeps of the login) instead of a session.
 */
export async function openSession(
  deps: Deps,
  user: User,
  device: Device,
  options: { redis?: Redis; assurance?: Assurance; challenge?: { key: string; login: string }; transport?: string } = {},
): Promise<(IssuedSession & { evicted: string[] }) | ChallengeIssued> {
  const assurance = options.assurance ?? PASSWORD_ONLY;
  const { config, keys } = deps;
  const now = deps.clock.now();
  const sessionId = deps.ids.sessionId();
  const absolute = now + config.sessionMaxTtlSeconds * 1000;
  const expiresAtMs = sessionDeadline(now, absolute, config.refreshTokenTtlSeconds);
  const fields = [
    F.userId, user.id, F.createdAt, now, F.lastUsedAt, now, F.absoluteDeadline, absolute, F.deadline, expiresAtMs,
    F.generation, 0, F.aal, assurance.aal, F.amr, assurance.amr.join(' '), F.secondFactorAt, assurance.aal === 2 ? now : 0,
    F.transport, options.transport === 'cookie' ? 'cookie' : 'body',
    F.deviceName, sanitizeDeviceName(device.name), F.userAgent, device.userAgent.slice(0, MAX_USER_AGENT), F.ip, device.ip,
  ];

  // The security event the script records with the session (lib/security/events.ts).
  const loginEvent = securityEventArgs(deps, securityEvent(deps, 'login_ok', device, { deviceName: sanitizeDeviceName(device.name), sessionId }));

  let evict: string[] = [];
  for (let attempt = 1; attempt <= MAX_INDEX_ATTEMPTS; attempt++) {
    const [outcome, ...rest] = await runScript<string[]>(
      options.redis ?? deps.redis,
      CREATE_SESSION,
      [
        keys.user(user.id),
        keys.userSessions(user.id),
        keys.session(user.id, sessionId),
        options.challenge?.key ?? keys.mfaChallenge(user.id, 'none'),
        keys.securityEvents(user.id),
        ...evict.map((id) => keys.session(user.id, id)),
      ],
      [
        now, expiresAtMs, config.maxSessionsPerUser, sessionId, evict.join(' '), config.requireVerifiedEmail ? '1' : '0',
        options.challenge ? 'ask' : 'done', options.challenge?.login ?? '', now + MFA_CHALLENGE_TTL_MS,
        // A password login names its address: an index entry an email change left behind
        // (a fault between its steps) never signs in.
        options.challenge ? user.email : '',
        ...loginEvent,
        ...fields,
      ],
    );
    if (outcome === 'mfa') return { mfaRequired: true, passkeys: Number(rest[0] ?? 0) };
    if (outcome === 'no_user') throw new AuthError('invalid_credentials');
    if (outcome === 'disabled') throw new AuthError('account_disabled');
    if (outcome === 'unverified') throw new AuthError('email_not_verified');
    if (outcome === 'created') {
      const [email, ...evicted] = rest as [string, ...string[]];
      // Found by the script, so in the stream only after it: should this append fail, the
      // login answers 503 and the evicted session's access tokens live on in stream-mode
      // authorizers at most until they expire (docs/revocation.md).
      await appendAfterScript(deps, { userId: user.id, sessionIds: evicted });
      return {
        sessionId,
        user: { id: user.id, email },
        refreshToken: formatRefreshToken(refreshKeyOf(config), { userId: user.id, sessionId, generation: 0 }),
        expiresAtMs,
        ...assurance,
        evicted,
      };
    }
    evict = rest;
  }
  throw new StoreUnavailableError(new Error('the session index kept changing during login'));
}

/**
 * Exchanges a refresh token for its successor, atomically (see the rotate-refresh-token
 * script): `rotated` for the current token; `grace` for an earlier one within
 * REFRESH_REUSE_INTERVAL_SECONDS of its rotation (the current token of the same session,
 * nothing revoked); `reused` for an older one, which has revoked the whole session; `invalid`
 * for anything else (malformed, a MAC that does not match, unknown, expired), which changes
 * nothing and costs no store request when the MAC fails; `limited` when the session used up
 * RATE_LIMIT_REFRESH_PER_SESSION (nothing consumed). One store request.
 */
export async function rotateRefreshToken(deps: Deps, refreshToken: string): Promise<RotationResult> {
  const { config, keys } = deps;
  // A token made under AUTH_SECRET_PREVIOUS still verifies during a rotation; its successor
  // is made under the current key.
  const claims = refreshKeysOf(config).reduce<ReturnType<typeof parseRefreshToken>>((found, key) => found ?? parseRefreshToken(key, refreshToken), null);
  if (!claims) return { outcome: 'invalid' };
  const { userId, sessionId } = claims;

  const reply = await runScript<string[]>(
    deps.redis,
    ROTATE_REFRESH_TOKEN,
    [keys.session(userId, sessionId), keys.userSessions(userId), keys.user(userId)],
    [
      claims.generation,
      deps.clock.now(),
      config.refreshReuseIntervalSeconds * 1000,
      config.refreshTokenTtlSeconds * 1000,
      sessionId,
      ROTATION_HISTORY,
      config.rateLimits.refreshPerSession?.limit ?? 0,
      (config.rateLimits.refreshPerSession?.windowSeconds ?? 0) * 1000,
      randomBytes(12).toString('base64url'),
    ],
  );

  const [outcome, first, expiresAt, generation, aal, amr] = reply;
  if ((outcome === 'rotated' || outcome === 'grace') && first && expiresAt && generation) {
    return {
      outcome,
      session: {
        sessionId,
        user: { id: userId, email: first },
        refreshToken: formatRefreshToken(refreshKeyOf(config), { userId, sessionId, generation: Number(generation) }),
        expiresAtMs: Number(expiresAt),
        aal: parseAal(aal),
        amr: parseAmr(amr),
      },
    };
  }
  if (outcome === 'limited') return { outcome, sessionId, retryAfterMs: Number(first) };
  // {'reused', userId, email}
  if (outcome === 'reused') {
    // The script found the reuse and revoked the session; the stream learns of it before the
    // caller hears `token_reused`. Should the append fail: 503, and the session's access
    // tokens live on in stream-mode authorizers at most until they expire (docs/revocation.md).
    await appendAfterScript(deps, { userId, sessionIds: [sessionId] });
    return { outcome, sessionId, userId, email: expiresAt ?? '' };
  }
  if (outcome === 'disabled') return { outcome, sessionId, userId };
  return { outcome: 'invalid', sessionId };
}

/**
 * Revokes one session if it is a live session of `userId`; false (nothing changed) for an
 * unknown id, an expired session or another user's. One store request; `options.event` is
 * recorded in the user's security events by the same script when a session was revoked. In
 * stream mode one more before it, the stream append (a session of `userId` only: another
 * user's id named here matches none of that user's tokens). `options.clientChosen`: the id
 * comes from the client (revoke one), so in stream mode the session is first read (one more
 * request) and an id that names no live session of the user's answers false with nothing
 * appended: a caller cannot fill every authorizer's memory with made-up ids.
 */
export async function revokeSession(deps: Deps, userId: string, sessionId: string, options: { event?: SecurityEvent; clientChosen?: boolean } = {}): Promise<boolean> {
  if (streamsRevocations(deps)) {
    if (options.clientChosen && !(await isSessionLive(deps, userId, sessionId))) return false;
    await appendRevocations(deps, { userId, sessionIds: [sessionId] });
  }
  const revoked = await runScript<number>(
    deps.redis,
    REVOKE_SESSION,
    [deps.keys.session(userId, sessionId), deps.keys.userSessions(userId), deps.keys.securityEvents(userId)],
    [sessionId, deps.clock.now(), ...eventArgs(deps, options.event)],
  );
  return revoked === 1;
}

/** A security event's script arguments (JSON, cap, TTL), or none ('' = record nothing). */
function eventArgs(deps: Deps, event: SecurityEvent | undefined): (string | number)[] {
  return event ? securityEventArgs(deps, event) : ['', 0, 0];
}

/** The ids in a user's session index (one request), with their session keys. */
export async function readSessionIndex(deps: Deps, userId: string): Promise<{ ids: string[]; keys: string[] }> {
  const reply: unknown = await guardStore(() => deps.redis.zrange(deps.keys.userSessions(userId), 0, -1));
  const ids = Array.isArray(reply) ? reply.map(String) : [];
  return { ids, keys: ids.map((id) => deps.keys.session(userId, id)) };
}

/**
 * Runs `operation` over a snapshot of the user's session index: reads the ids (one request),
 * then hands them with their session keys to a script that checks the index holds no id
 * beyond them (one request). When it does, reads again, at most MAX_INDEX_ATTEMPTS times,
 * then fails with 503.
 */
async function overSessionIndex<T>(
  deps: Deps,
  userId: string,
  operation: (ids: string[], keys: string[]) => Promise<T | 'changed'>,
): Promise<T> {
  for (let attempt = 1; attempt <= MAX_INDEX_ATTEMPTS; attempt++) {
    const { ids, keys } = await readSessionIndex(deps, userId);
    const result = await operation(ids, keys);
    if (result !== 'changed') return result;
  }
  throw new StoreUnavailableError(new Error('the session index kept changing'));
}

/**
 * Revokes every session of a user (all but `except`, when given); returns how many. Two store requests: the index, then one
 * script over its sessions (stream mode: three, the stream append between them). Logins that land in between are caught by another round (two more
 * requests each, at most MAX_INDEX_ATTEMPTS rounds in all). Should logins keep landing after
 * that, the call still succeeds: every session that existed when it was asked is revoked, and
 * the newer ones are alive and listed (the index is never dropped while it holds any).
 * `options.event` is recorded in the user's security events by the first round's script.
 */
export async function revokeAllSessions(deps: Deps, userId: string, options: { except?: string; event?: SecurityEvent } = {}): Promise<number> {
  let total = 0;
  for (let attempt = 1; attempt <= MAX_INDEX_ATTEMPTS; attempt++) {
    const index = await readSessionIndex(deps, userId);
    const ids = index.ids.filter((id) => id !== options.except);
    const keys = ids.map((id) => deps.keys.session(userId, id));
    // In the stream first (stream mode: one more request per round): a fault between the two
    // leaves sessions denied by the authorizer yet still in Redis, never the reverse.
    await appendRevocations(deps, { userId, sessionIds: ids });
    const [outcome, count] = await runScript<[string, number]>(deps.redis, REVOKE_SESSIONS, [deps.keys.userSessions(userId), deps.keys.securityEvents(userId), deps.keys.user(userId), ...keys], [
      ids.join(' '),
      options.except ?? '',
      // The event goes in with the first round only.
      ...eventArgs(deps, attempt === 1 ? options.event : undefined),
    ]);
    total += Number(count);
    if (outcome === 'revoked') break;
  }
  return total;
}

/**
 * A user's live sessions, newest first, with nothing secret in them; `current` marks
 * `currentSessionId`. Prunes expired entries from the index. Two store requests.
 */
export function listSessions(deps: Deps, userId: string, currentSessionId: string): Promise<Session[]> {
  return overSessionIndex(deps, userId, async (ids, sessionKeys) => {
    const [outcome, ...flat] = await runScript<string[]>(deps.redis, LIST_SESSIONS, [deps.keys.userSessions(userId), ...sessionKeys], [
      deps.clock.now(),
      ids.join(' '),
    ]);
    if (outcome !== 'listed') return 'changed';
    const sessions: Session[] = [];
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
  });
}

/**
 * Whether a session is alive and belongs to `userId`, for an authorization decision. One
 * read-only store request (HMGET), no writes: the authorizer's whole Redis cost.
 */
export function isSessionLive(deps: Deps, userId: string, sessionId: string): Promise<boolean> {
  return readSessionLiveness(deps.redis, deps.keys, userId, sessionId, deps.clock.now());
}

/**
 * {@link isSessionLive} on a bare client, for verifiers outside this service's deps
 * (lib/verify.ts). One read-only request.
 */
export async function readSessionLiveness(redis: Redis, keys: RedisKeys, userId: string, sessionId: string, nowMs: number): Promise<boolean> {
  const [uid, deadline] = await readHashFields(redis, keys.session(userId, sessionId), [F.userId, F.deadline]);
  // The deadline is checked here too, not only by the key's TTL, so a decision never depends
  // on when Redis gets round to expiring a key.
  return uid === userId && Number(deadline) > nowMs;
}

/**
 * The session's user when the session is alive, else `null` (GET /auth/me). One store
 * request: the session's liveness and the user's email, pipelined.
 */
export async function findSessionUser(deps: Deps, userId: string, sessionId: string): Promise<RegisteredUser | null> {
  const [live, user] = await Promise.all([
    readSessionLiveness(deps.pipelinedRedis, deps.keys, userId, sessionId, deps.clock.now()),
    readUser(deps.pipelinedRedis, deps.keys, userId),
  ]);
  return live && user ? user : null;
}
