import type { MeResponse, Session } from '../../client/src/contract';
import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import type { Principal } from '../principal';
import { recordSecurityEvent, securityEvent } from '../security/events';
import { sendSecurityNotice } from '../security/notices';
import { findSessionUser, listSessions, revokeAllSessions, revokeSession, rotateRefreshToken } from '../sessions/sessions';
import { issueTokens, type TokenResponse } from '../tokens/token-response';

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
      // Only on this path: one more store request (the event), and the notice.
      await recordSecurityEvent(deps, result.userId, 'refresh_token_reused', context, { sessionId: result.sessionId });
      if (result.email) await sendSecurityNotice(deps, 'refresh_token_reused', result.email, context, { userId: result.userId });
      throw new AuthError('token_reused');
    case 'disabled':
      deps.logger.event('refresh', context, { outcome: 'denied', userId: result.userId, sessionId: result.sessionId, reason: 'account_disabled' });
      throw new AuthError('account_disabled');
    case 'invalid':
      deps.logger.event('refresh', context, { outcome: 'failure', sessionId: result.sessionId, reason: 'invalid_token' });
      throw new AuthError('invalid_token');
  }
}

/** Revokes the caller's session; idempotent. One store request. */
export async function logout(deps: Deps, principal: Principal, context: RequestContext): Promise<void> {
  await revokeSession(deps, principal.userId, principal.sessionId);
  deps.logger.event('logout', context, { outcome: 'success', ...principal });
}

/** Revokes every session of the caller. Two store requests (the index, then the revocation). */
export async function logoutAll(deps: Deps, principal: Principal, context: RequestContext): Promise<void> {
  const event = securityEvent(deps, 'sessions_revoked', context, { sessionId: principal.sessionId });
  const count = await revokeAllSessions(deps, principal.userId, { event });
  deps.logger.event('logout_all', context, { outcome: 'success', ...principal, reason: `${count} sessions` });
}

/** The caller's live sessions, newest first. Two store requests (the index, then the sessions). */
export function listMySessions(deps: Deps, principal: Principal): Promise<Session[]> {
  return listSessions(deps, principal.userId, principal.sessionId);
}

/**
 * Revokes one of the caller's sessions. Fails with `not_found` (changing nothing) when the
 * id is not a live session of the caller's. One store request (stream mode: three, the
 * session's read, the stream append, the revocation).
 */
export async function revokeMySession(deps: Deps, principal: Principal, sessionId: string, context: RequestContext): Promise<void> {
  const event = securityEvent(deps, 'session_revoked', context, { sessionId });
  if (!(await revokeSession(deps, principal.userId, sessionId, { event, clientChosen: sessionId !== principal.sessionId }))) throw new AuthError('not_found', 'No such session.');
  deps.logger.event('session_revoked', context, { outcome: 'success', userId: principal.userId, sessionId });
}

/** The caller's user and session; `invalid_token` if the session ended meanwhile. */
export async function me(deps: Deps, principal: Principal): Promise<MeResponse> {
  const user = await findSessionUser(deps, principal.userId, principal.sessionId);
  if (!user) throw new AuthError('invalid_token');
  return { user, session: { id: principal.sessionId, aal: principal.aal ?? 1, amr: principal.amr ?? ['pwd'] } };
}

