import type { MiddlewareObj } from '@middy/core';
import { parseBearer } from '../bearer';
import { AuthError } from '../errors';
import type { AccessTokenClaims, AccessTokenVerifier } from '../verify';


interface EventWithHeaders {
  headers?: Record<string, string | undefined> | null;
}

/** What the middleware adds to middy's context for the handler. */
export interface AccessTokenContext {
  auth: AccessTokenClaims;
}

type Response = { statusCode: number; headers: Record<string, string>; body: string };

/**
 * middy middleware for Lambdas without API Gateway in front (function URLs, direct
 * invocations with an HTTP-shaped event): verifies `Authorization: Bearer <access token>`
 * with {@link createAccessTokenVerifier} and puts `{userId, sessionId, tokenId, expiresAt}`
 * in `context.auth`. A missing or refused token ends the request with 401 `invalid_token`
 * (`WWW-Authenticate: Bearer`); a fault of the session check with 503 `service_unavailable`.
 * The handler never runs for either.
 */
export function requireAccessToken<TEvent extends EventWithHeaders, TContext extends object>(
  verify: AccessTokenVerifier,
): MiddlewareObj<TEvent, unknown, Error, TContext & AccessTokenContext> {
  return {
    before: async (request) => {
      const headers = request.event.headers ?? {};
      const header = headers.authorization ?? headers.Authorization;
      const token = parseBearer(header);
      let auth: AccessTokenClaims | null = null;
      try {
        auth = token ? await verify(token) : null;
      } catch {
        return errorResponse(new AuthError('service_unavailable'), { 'Retry-After': '1' });
      }
      if (!auth) {
        return errorResponse(new AuthError('invalid_token'), { 'WWW-Authenticate': 'Bearer' });
      }
      request.context.auth = auth;
      return undefined;
    },
  };
}

/** The contract's error body, with the code's own status and message (lib/errors.ts). */
function errorResponse(error: AuthError, headers: Record<string, string>): Response {
  return {
    statusCode: error.status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify({ error: error.code, message: error.message }),
  };
}
