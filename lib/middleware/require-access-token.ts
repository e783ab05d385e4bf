import type { MiddlewareObj } from '@middy/core';
import type { AccessTokenClaims, AccessTokenVerifier } from '../verify';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

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
      const token = header ? BEARER.exec(header)?.[1] : undefined;
      let auth: AccessTokenClaims | null = null;
      try {
        auth = token ? await verify(token) : null;
      } catch {
        return errorResponse(503, 'service_unavailable', 'The service is temporarily unavailable; retry later.', { 'Retry-After': '1' });
      }
      if (!auth) {
        return errorResponse(401, 'invalid_token', 'The token is invalid, expired or revoked.', { 'WWW-Authenticate': 'Bearer' });
      }
      request.context.auth = auth;
      return undefined;
    },
  };
}

function errorResponse(statusCode: number, error: string, message: string, headers: Record<string, string>): Response {
  return { statusCode, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }, body: JSON.stringify({ error, message }) };
}
