/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1: one space, then
 * token68 characters), or `null` for anything else: another scheme, a lower-case `bearer`,
 * extra spaces, two tokens. One parser for the authorizer and the middleware.
 */
const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

export function parseBearer(header: string | undefined | null): string | null {
  return header ? (BEARER.exec(header)?.[1] ?? null) : null;
}
