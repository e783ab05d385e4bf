import { createMailer } from '../lib/mail/mailer';
import { refresh } from '../lib/auth';
import { AuthError } from '../lib/errors';
import { assertCookieRequestAllowed, clearRefreshCookie, CSRF_HEADER, readRefreshCookie } from './refresh-cookie';
import { ErrorWithCookies, header, httpHandler, requestCookies, requireObject, requireString, tokenResponse } from './http';

/**
 * POST /auth/refresh `{refreshToken}` → 200 token response with a rotated refresh token.
 * With no body, the refresh token comes from the HttpOnly cookie (browser clients): the
 * request must then pass the CSRF check (allowlisted Origin + X-Requested-With, else 403)
 * and the rotated token goes back in the cookie only.
 */
export const handler = httpHandler<unknown>({ body: 'optional', needs: { store: true, sign: true, mail: true }, createMailer }, async ({ event, body, deps, context }) => {
  if (body !== undefined) {
    const refreshToken = requireString(requireObject(body), 'refreshToken');
    return tokenResponse(await refresh(deps, refreshToken, context), 'body');
  }
  assertCookieRequestAllowed(deps.config, header(event, 'origin'), header(event, CSRF_HEADER));
  const refreshToken = readRefreshCookie(requestCookies(event));
  if (!refreshToken) throw new AuthError('invalid_token', 'No refresh token: send {"refreshToken"} or the refresh cookie.');
  try {
    return tokenResponse(await refresh(deps, refreshToken, context), 'cookie');
  } catch (error) {
    // A refused cookie will never work again: clear it with the refusal.
    if (error instanceof AuthError && (error.code === 'invalid_token' || error.code === 'token_reused')) {
      throw new ErrorWithCookies(error, [clearRefreshCookie()]);
    }
    throw error;
  }
});
