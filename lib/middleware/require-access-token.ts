import type { MiddlewareObj } from '@middy/core';
import { parseBearer } from '../bearer';
import { AuthError } from '../errors';
import type { AccessTokenClaims, AccessTokenVerifier } from '../verify';
import { asHttpError, errorResponse } from './error-response';

interface EventWithHeaders {
  headers?: Record<string, string | undefined> | null;
}

/** What the middleware adds to middy's context for the handler. */
export interface AccessTokenContext {
  auth: AccessTokenClaims;
}

/**
 * middy middleware for Lambdas without API Gateway in front (function URLs, direct
 * invocations with an HTTP-shaped event): verifies `Authorization: Bearer <access token>`
 * with {@link createAccessTokenVerifier} and puts `{userId, sessionId, tokenId, expiresAt}`
 * (and `aal`, `amr`) in `context.auth`; with `requireAal: 2`, a token without a second factor
 * fails with 403 `step_up_required`. A missing or refused token fails with 401 `invalid_token`
 * (`WWW-Authenticate: Bearer`); a fault of the session check with 503 `service_unavailable`.
 * The handler never runs for either.
 *
 * It fails by throwing a middy-style HTTP error (`statusCode`, `expose`), never by returning
 * early: an early return would skip every `after` of the consumer's stack, and with them its
 * CORS and security headers. middy then runs the stack's `onError` middlewares; this one's
 * renders the contract's error body when nothing else has answered, and the consumer's (CORS,
 * security headers, its own error handler) see the error and the response as for any other.
 */
export function requireAccessToken<TEvent extends EventWithHeaders, TContext extends object>(
  verify: AccessTokenVerifier,
  options: { requireAal?: 1 | 2 } = {},
): MiddlewareObj<TEvent, unknown, Error, TContext & AccessTokenContext> {
  return {
    before: async (request) => {
      const headers = request.event.headers ?? {};
      const token = parseBearer(headers.authorization ?? headers.Authorization);
      let auth: AccessTokenClaims | null = null;
      try {
        auth = token ? await verify(token) : null;
      } catch (error) {
        throw asHttpError(new AuthError('service_unavailable', undefined, { retryAfterSeconds: 1, cause: error }));
      }
      if (!auth) throw asHttpError(new AuthError('invalid_token'));
      // A valid token of a session without a second factor, where one is required: 403.
      if (options.requireAal === 2 && auth.aal !== 2) throw asHttpError(new AuthError('step_up_required'));
      request.context.auth = auth;
    },
    onError: async (request) => {
      if (request.response !== undefined || !(request.error instanceof AuthError)) return;
      request.response = errorResponse(request.error, { bearer: true });
    },
  };
}
