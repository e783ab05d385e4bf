import type { Deps } from '../deps';
import type { Principal } from '../principal';
import { revocationFollowerOf } from '../sessions/revocation-follower';
import { isSessionLive } from '../sessions/sessions';
import { verifyAccessToken } from '../tokens/access-token';

/**
 * The authorizer's decision for a bearer token: the principal when the token is valid and
 * its session is neither revoked nor expired, else `null`. A token that fails verification
 * costs no store request. A store fault throws: the caller must deny.
 *
 * - AUTHORIZER_REVOCATION=strict (default): one read-only store request (the session's HMGET).
 * - `stream`: no request between polls of the revocation stream (lib/sessions/revocation-follower.ts);
 *   throws when this container's view of it is staler than REVOCATION_MAX_STALENESS_MS.
 */
export async function authorize(deps: Deps, token: string): Promise<Required<Principal> | null> {
  const claims = await verifyAccessToken(deps.keyRing, deps.config, token, deps.clock.now());
  if (!claims) return null;
  const live =
    deps.config.revocation.mode === 'stream'
      ? !(await revocationFollowerOf(deps).isRevoked(claims.userId, claims.sessionId, claims.issuedAt))
      : await isSessionLive(deps, claims.userId, claims.sessionId);
  return live ? { userId: claims.userId, sessionId: claims.sessionId, aal: claims.aal, amr: claims.amr } : null;
}
