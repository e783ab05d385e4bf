import type { TokenResponse } from '../../client/src/contract';
import type { Deps } from '../deps';
import type { IssuedSession } from '../sessions/sessions';
import { signAccessToken } from './access-token';

/** The token response of the contract (login and refresh): the contract's one declaration. */
export type { TokenResponse };

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
