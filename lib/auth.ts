import type { Deps } from './deps';
import { AuthError } from './errors';
import type { RequestContext } from './log';
import { mfaChallengeAnswer, newMfaChallenge, type MfaChallenge } from './mfa/challenge';
import {
  openSession,
  createSession,
  findSessionUser,
  isSessionLive,
  listSessions,
  revokeAllSessions,
  revokeSession,
  rotateRefreshToken,
  type IssuedSession,
  type SessionView,
} from './sessions/sessions';
import { signAccessToken, verifyAccessToken } from './tokens/access-token';
import type { Attempt } from './rate-limit';
import { sendFirstVerification } from './account/email-verification';
import { normalizePassword } from './users/passwords';
import {
  checkPassword,
  deviceTags,
  findCredentials,
  normalizeEmail,
  rememberDevice,
  registerUser,
  upgradePasswordHash,
  type RegisteredUser,
  type User,
} from './users/users';

/** The token response of the contract (login and refresh). */
export interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Seconds until the refresh token (and the session, unless refreshed) expires. */
  refreshExpiresIn: number;
  sessionId: string;
  user: User;
}

/** The caller as the authorizer established it. */
export interface Principal {
  userId: string;
  sessionId: string;
  /** From the access token (the authorizer's context); absent where only the ids matter. */
  aal?: 1 | 2;
  amr?: string[];
}

export interface LoginInput {
  email: unknown;
  password: unknown;
  deviceName?: string;
  /** Where the refresh token is to go (kept by an MFA challenge for its verify step). */
  transport?: string;
}

/**
 * Checks the credentials and opens a session. Fails with `rate_limited`, `invalid_credentials`
 * (unknown email and wrong password alike) or `invalid_request`. Two store requests either
 * way: the limits with the user lookup (pipelined), then the session's creation (with the
 * device remembered, pipelined) or the failure's count.
 *
 * Limits (lib/rate-limit.ts), all checked before any password work, so while limited even the
 * right password is refused:
 * - attempts per client IP;
 * - failures of this account from this IP (a guesser is stopped, the owner elsewhere is not);
 * - failures of this account from all IPs (distributed guessing), except from a device that
 *   signed in to it before: failures elsewhere never lock the owner out of a known device.
 * Unknown emails are counted like real ones, so the limits do not tell them apart.
 */
export async function login(deps: Deps, input: LoginInput, context: RequestContext): Promise<TokenResponse>;
export async function login(deps: Deps, input: LoginInput, context: RequestContext, options: { allowMfa: true }): Promise<TokenResponse | MfaChallenge>;
export async function login(deps: Deps, input: LoginInput, context: RequestContext, options: { allowMfa?: boolean } = {}): Promise<TokenResponse | MfaChallenge> {
  const email = normalizeEmail(input.email);
  const password = normalizePassword(input.password, false);
  const failures: Attempt[] = [
    { name: 'loginFailuresPerAccountIp', identifier: `${email} ${context.ip}` },
    { name: 'loginFailuresPerAccount', identifier: email },
  ];
  // One pipelined request; a failed request fails all: 503, never a pass.
  const [, limited, credentials] = await Promise.all([
    limit(deps, context, 'login', [{ name: 'loginPerIp', identifier: context.ip }]),
    deps.rateLimiter.peek(failures, deps.clock.now()),
    findCredentials(deps.pipelinedRedis, deps.keys, email),
  ]);
  const [device, ...previous] = deviceTags(deps.config, context.ip) as [string, ...string[]];
  const knownAs = credentials?.knownDevices.find((tag) => tag === device || previous.includes(tag));
  const known = knownAs !== undefined;
  if (limited.exhausted.has('loginFailuresPerAccountIp') || (limited.exhausted.has('loginFailuresPerAccount') && !known)) {
    deps.logger.event('rate_limited', context, { outcome: 'denied', reason: 'login' });
    throw new AuthError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(limited.retryAfterMs / 1000)) });
  }

  const user = await checkPassword(deps, credentials, password);
  if (!user || !credentials) {
    await deps.rateLimiter.record(failures);
    deps.logger.event('login_failed', context, { outcome: 'failure', reason: 'invalid_credentials' });
    throw new AuthError('invalid_credentials');
  }
  await upgradePasswordHash(deps, credentials, password);
  const sessionDevice = { name: input.deviceName ?? '', userAgent: context.userAgent, ip: context.ip };
  // With TOTP on, the same step stores an MFA challenge instead of a session (SPEC).
  const challenge = newMfaChallenge(deps, user.id);
  const [session] = await Promise.all([
    openSession(deps, user, sessionDevice, {
      redis: deps.pipelinedRedis,
      challenge: { key: challenge.key, login: JSON.stringify({ device: sessionDevice, transport: input.transport ?? 'body' }) },
    }),
    knownAs === device ? undefined : rememberDevice(deps.pipelinedRedis, deps.keys, credentials, device),
  ]);
  if ('mfaRequired' in session) {
    deps.logger.event('login_ok', context, { outcome: 'success', userId: user.id, reason: 'mfa_required' });
    if (!options.allowMfa) throw new AuthError('invalid_request', 'This account has a second factor: sign in through POST /auth/login and /auth/mfa/verify.');
    return mfaChallengeAnswer(challenge.token);
  }
  deps.logger.event('login_ok', context, { outcome: 'success', userId: user.id, sessionId: session.sessionId });
  for (const evicted of session.evicted) {
    deps.logger.event('session_evicted', context, { outcome: 'success', userId: user.id, sessionId: evicted, reason: 'max_sessions' });
  }
  return issueTokens(deps, session);
}

/**
 * Rotates a refresh token (see {@link rotateRefreshToken}). Fails with `invalid_token`
 * (malformed, unknown, expired or revoked) or `token_reused` (the session is now revoked).
 * A store fault fails with `service_unavailable` and consumes nothing. One store request.
 */
export async function refresh(deps: Deps, refreshToken: string, context: RequestContext): Promise<TokenResponse> {
  const result = await rotateRefreshToken(deps, refreshToken);
  switch (result.outcome) {
    case 'rotated':
    case 'grace':
      deps.logger.event('refresh', context, {
        outcome: 'success',
        userId: result.session.user.id,
        sessionId: result.session.sessionId,
        ...(result.outcome === 'grace' ? { reason: 'grace_interval' } : {}),
      });
      return issueTokens(deps, result.session);
    case 'limited':
      deps.logger.event('rate_limited', context, { outcome: 'denied', sessionId: result.sessionId, reason: 'refresh_per_session' });
      throw new AuthError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(result.retryAfterMs / 1000)) });
    case 'reused':
      deps.logger.event('reuse_detected', context, { outcome: 'denied', userId: result.userId, sessionId: result.sessionId, reason: 'session_revoked' });
      throw new AuthError('token_reused');
    case 'invalid':
      deps.logger.event('refresh', context, { outcome: 'failure', sessionId: result.sessionId, reason: 'invalid_token' });
      throw new AuthError('invalid_token');
  }
}

/**
 * Registers a user, limited per client IP. Fails with `rate_limited`, `invalid_request` or
 * `email_taken`.
 */
export async function register(
  deps: Deps,
  input: { email: unknown; password: unknown },
  context: RequestContext,
): Promise<RegisteredUser> {
  // Bad input is refused before it costs a store request or a unit of the limit.
  normalizeEmail(input.email);
  normalizePassword(input.password, true);
  await limit(deps, context, 'register', [{ name: 'registerPerIp', identifier: context.ip }]);
  const user = await registerUser(deps, input, context);
  await sendFirstVerification(deps, user, context);
  return user;
}

async function limit(deps: Deps, context: RequestContext, action: string, attempts: Attempt[]): Promise<void> {
  try {
    await deps.rateLimiter.check(attempts, deps.clock.now());
  } catch (error) {
    if (error instanceof AuthError && error.code === 'rate_limited') {
      deps.logger.event('rate_limited', context, { outcome: 'denied', reason: action });
    }
    throw error;
  }
}

/** Revokes the caller's session; idempotent. One store request. */
export async function logout(deps: Deps, principal: Principal, context: RequestContext): Promise<void> {
  await revokeSession(deps, principal.userId, principal.sessionId);
  deps.logger.event('logout', context, { outcome: 'success', ...principal });
}

/** Revokes every session of the caller. Two store requests (the index, then the revocation). */
export async function logoutAll(deps: Deps, principal: Principal, context: RequestContext): Promise<void> {
  const count = await revokeAllSessions(deps, principal.userId);
  deps.logger.event('logout_all', context, { outcome: 'success', ...principal, reason: `${count} sessions` });
}

/** The caller's live sessions, newest first. Two store requests (the index, then the sessions). */
export function listMySessions(deps: Deps, principal: Principal): Promise<SessionView[]> {
  return listSessions(deps, principal.userId, principal.sessionId);
}

/**
 * Revokes one of the caller's sessions. Fails with `not_found` (changing nothing) when the
 * id is not a live session of the caller's. One store request.
 */
export async function revokeMySession(deps: Deps, principal: Principal, sessionId: string, context: RequestContext): Promise<void> {
  if (!(await revokeSession(deps, principal.userId, sessionId))) throw new AuthError('not_found', 'No such session.');
  deps.logger.event('session_revoked', context, { outcome: 'success', userId: principal.userId, sessionId });
}

/** The caller's user and session; `invalid_token` if the session ended meanwhile. */
export async function me(deps: Deps, principal: Principal): Promise<{ user: RegisteredUser; session: { id: string; aal: 1 | 2; amr: string[] } }> {
  const user = await findSessionUser(deps, principal.userId, principal.sessionId);
  if (!user) throw new AuthError('invalid_token');
  return { user, session: { id: principal.sessionId, aal: principal.aal ?? 1, amr: principal.amr ?? ['pwd'] } };
}

/**
 * The authorizer's decision for a bearer token: the principal when the token is valid and
 * its session is alive, else `null`. Costs one read-only store request (none for a token
 * that fails verification). A store fault throws: the caller must deny.
 */
export async function authorize(deps: Deps, token: string): Promise<Required<Principal> | null> {
  const claims = await verifyAccessToken(deps.keyRing, deps.config, token, deps.clock.now());
  if (!claims) return null;
  const live = await isSessionLive(deps, claims.userId, claims.sessionId);
  return live ? { userId: claims.userId, sessionId: claims.sessionId, aal: claims.aal, amr: claims.amr } : null;
}

/** Signs the access token of a session and assembles the token response. */
export async function issueTokens(deps: Deps, session: IssuedSession): Promise<TokenResponse> {
  const now = deps.clock.now();
  const access = await signAccessToken(deps.keyRing, deps.config, {
    userId: session.user.id,
    sessionId: session.sessionId,
    tokenId: deps.ids.tokenId(),
    nowMs: now,
    sessionExpiresAtMs: session.expiresAtMs,
    aal: session.aal,
    amr: session.amr,
  });
  return {
    accessToken: access.token,
    refreshToken: session.refreshToken,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    refreshExpiresIn: Math.max(0, Math.floor((session.expiresAtMs - now) / 1000)),
    sessionId: session.sessionId,
    user: session.user,
  };
}
