import type { RefreshTransport } from '../client/src/contract';
import type { Config } from '../lib/config';
import { AuthError } from '../lib/errors';

/**
 * The refresh token's cookie for browser clients (`"transport": "cookie"`).
 *
 * - `__Secure-` prefix: the browser accepts it only with `Secure` from a secure origin, so it
 *   can never be set or overwritten over plain HTTP (localhost counts as secure).
 * - `Path=/auth/refresh`: the narrowest scope the prefix allows (`__Host-` would force
 *   `Path=/`, sending the token with every request to the API); only the refresh route reads
 *   it. Logout clears it with a `Set-Cookie` of the same name and path.
 * - `HttpOnly`: no script, including an injected one, can read it.
 * - `SameSite=Strict`: never sent on a cross-site request. Strict, not Lax: the refresh route is
 *   only ever called by the app's own script, never by a top-level navigation.
 * - `Max-Age` = the refresh token's remaining life; no `Domain` (host-only).
 */
export const REFRESH_COOKIE_NAME = '__Secure-refresh-token';
export const REFRESH_COOKIE_PATH = '/auth/refresh';
/** The header a cross-site HTML form cannot send (and fetch can only send after a CORS preflight). */
export const CSRF_HEADER = 'x-requested-with';

export type { RefreshTransport };

export function refreshCookie(token: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE_NAME}=${token}; Path=${REFRESH_COOKIE_PATH}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearRefreshCookie(): string {
  return `${REFRESH_COOKIE_NAME}=; Path=${REFRESH_COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

/**
 * The refresh token from the request's cookies (v2 `cookies` array and/or `Cookie` header), or
 * `undefined` when there is none. More than one refresh cookie fails with `invalid_request`,
 * changing nothing and clearing nothing: a sibling subdomain (or a network attacker over plain
 * HTTP to a sibling) can plant a second `__Secure-refresh-token` with `Domain=` that the browser
 * sends alongside the real one, and taking the first would log the victim in as the attacker,
 * while clearing would log the victim out (docs/browser.md, "Two refresh cookies").
 */
export function readRefreshCookie(cookies: string[]): string | undefined {
  const values: string[] = [];
  for (const header of cookies) {
    for (const pair of header.split(';')) {
      const separator = pair.indexOf('=');
      if (separator !== -1 && pair.slice(0, separator).trim() === REFRESH_COOKIE_NAME) values.push(pair.slice(separator + 1).trim());
    }
  }
  if (values.length > 1) {
    throw new AuthError('invalid_request', 'More than one refresh cookie was sent; a cookie set for a parent domain may be shadowing this one.');
  }
  return values[0] || undefined;
}

/**
 * CSRF defence for a refresh authorized by the cookie alone: the request must come from an
 * allowlisted origin (CORS_ALLOWED_ORIGINS; `Origin` is set by the browser, not by page
 * script) and carry `X-Requested-With`, which a cross-site form cannot send and a cross-origin
 * script can send only after a CORS preflight that only allowlisted origins pass. Fails with
 * `forbidden` (403), before anything is read or rotated.
 */
export function assertCookieRequestAllowed(config: Config, origin: string | undefined, csrfHeader: string | undefined): void {
  if (!origin || !config.corsAllowedOrigins.includes(origin) || !csrfHeader) {
    throw new AuthError('forbidden', 'A cookie-borne refresh needs an allowed Origin and the X-Requested-With header.');
  }
}
