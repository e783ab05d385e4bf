import type { Deps } from '../deps';
import type { IssuedSession } from '../sessions/sessions';
import type { User } from '../users/users';
import { signAccessToken } from './access-token';

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
