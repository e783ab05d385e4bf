import type { Deps } from '../deps';
import type { Principal } from '../principal';
import { isSessionLive } from '../sessions/sessions';
import { verifyAccessToken } from '../tokens/access-token';

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

