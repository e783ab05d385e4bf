import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Refresh tokens are opaque: `<user id>.<session id>.<generation>.<mac>`.
 *
 * - user id and session id: the server-made 128-bit ids (22 base64url characters); the user id
 *   is there so the store finds the session in its user's Redis Cluster slot.
 * - generation: how many times the session has rotated (decimal, 0 for a new session).
 * - mac: HMAC-SHA256 over the three, under a key derived (HKDF) from AUTH_SECRET,
 *   which lives only in the functions' configuration, never in Redis.
 *
 * What that buys (the design of Supabase Auth's v2 refresh tokens): the session stores only its
 * current generation, so its footprint is constant however often it rotates; any earlier token
 * of the session is recognized as reused (its generation is lower) however many rotations
 * later; a guessed or forged token fails the MAC before the store is asked, so it can never
 * revoke a session; and a copy of Redis yields no usable token (the key is not there).
 *
 * Four dot-separated segments: never a JWS (three) or a JWE (five), so a refresh token can
 * never pass as an access token, nor an access token as one of these.
 */
const REFRESH_TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.(0|[1-9][0-9]{0,14})\.([A-Za-z0-9_-]{43})$/;
const MAC_LABEL = 'refresh-token-v2';

export interface RefreshTokenClaims {
  userId: string;
  sessionId: string;
  generation: number;
}

/** A 256-bit key for one purpose, derived (HKDF-SHA256) from a server secret and a label. */
export function deriveKey(secret: Uint8Array, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), label, 32));
}

/** The MAC key, derived once from AUTH_SECRET (so the raw secret is used for nothing else). */
export function deriveRefreshTokenKey(secret: Uint8Array): Buffer {
  return deriveKey(secret, MAC_LABEL);
}

function mac(key: Buffer, claims: RefreshTokenClaims): Buffer {
  return createHmac('sha256', key).update(`${MAC_LABEL}|${claims.userId}|${claims.sessionId}|${claims.generation}`).digest();
}

export function formatRefreshToken(key: Buffer, claims: RefreshTokenClaims): string {
  return `${claims.userId}.${claims.sessionId}.${claims.generation}.${mac(key, claims).toString('base64url')}`;
}

/**
 * The claims of a refresh token this service issued under `key`, or `null` for anything else:
 * not exactly our format (an access token, whitespace, padding), or a MAC that does not match
 * (compared in constant time).
 */
export function parseRefreshToken(key: Buffer, token: string): RefreshTokenClaims | null {
  const match = REFRESH_TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const claims = { userId: match[1]!, sessionId: match[2]!, generation: Number(match[3]) };
  if (!Number.isSafeInteger(claims.generation)) return null;
  const presented = Buffer.from(match[4]!, 'base64url');
  // base64url of 43 characters decodes to 32 bytes, but its last character carries 2 spare
  // bits: re-encode so that only the one canonical spelling passes.
  if (presented.toString('base64url') !== match[4]) return null;
  return timingSafeEqual(presented, mac(key, claims)) ? claims : null;
}
