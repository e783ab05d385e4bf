/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1: the scheme, matched
 * case-insensitively as RFC 7235 §2.1 requires, one or more spaces (`1*SP`), then token68
 * characters), or `null` for anything else: another scheme, a tab, two tokens. One parser for
 * the authorizer and the middleware.
 */
const BEARER = /^bearer +([A-Za-z0-9._~+/=-]+)$/i;

export function parseBearer(header: string | undefined | null): string | null {
  return header ? (BEARER.exec(header)?.[1] ?? null) : null;
}
