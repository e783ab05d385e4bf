import { SignJWT, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import type { KeyRing } from './key-ring';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Tokens longer than this are refused before any parsing (ours are ~400 bytes). */
export const MAX_ACCESS_TOKEN_BYTES = 8192;
/** RFC 8725 §3.9 clock skew allowance; the contract caps it at 5 s. */
export const CLOCK_TOLERANCE_SECONDS = 5;

const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
/** A compact JWS and nothing else: jose's base64 decoding skips whitespace, we do not. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** RFC 8176 authentication method references. */
export type AuthMethod = 'pwd' | 'otp' | 'hwk' | 'user' | 'mfa';

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
  tokenId: string;
  /** Authenticator assurance level: 1, or 2 after a second factor. */
  aal: 1 | 2;
  amr: string[];
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

export interface SignAccessTokenInput {
  userId: string;
  sessionId: string;
  tokenId: string;
  nowMs: number;
  /** The session's deadline (ms): the token never outlives it. */
  sessionExpiresAtMs: number;
  aal: 1 | 2;
  amr: string[];
}

/**
 * Signs an access token with absolute times from the caller's clock. Its `exp` is the earlier
 * of now + ACCESS_TOKEN_TTL_SECONDS and the session's deadline.
 */
export async function signAccessToken(
  keyRing: KeyRing,
  config: Config,
  input: SignAccessTokenInput,
): Promise<{ token: string; expiresIn: number }> {
  if (!keyRing.signingKey) throw new Error('this function holds no signing key (configured without `sign`)');
  const now = Math.floor(input.nowMs / 1000);
  const expiresAt = Math.min(now + config.accessTokenTtlSeconds, Math.floor(input.sessionExpiresAtMs / 1000));
  const token = await new SignJWT({ sid: input.sessionId, client_id: config.jwtClientId, aal: input.aal, amr: input.amr })
    .setProtectedHeader({ alg: keyRing.algorithm, typ: ACCESS_TOKEN_TYPE, ...(keyRing.signingKid ? { kid: keyRing.signingKid } : {}) })
    .setIssuer(config.jwtIssuer)
    .setAudience(config.jwtAudience)
    .setSubject(input.userId)
    .setJti(input.tokenId)
    .setIssuedAt(now)
    .setExpirationTime(expiresAt)
    .sign(keyRing.signingKey);
  return { token, expiresIn: Math.max(0, expiresAt - now) };
}

export interface VerifyOptions {
  /** Picks the key for a token header (throws when none fits). */
  getKey: JWTVerifyGetKey;
  /** The pinned algorithms; anything else is refused before the key is looked up. */
  algorithms: string[];
  issuer: string;
  audience: string;
  /**
   * The issuer's access token lifetime: an older `iat` is refused, and so is a token whose
   * `exp - iat` exceeds it (plus the clock tolerance), whatever its `exp` says.
   */
  maxTokenAgeSeconds: number;
  /** When set, `client_id` must equal it; otherwise any non-empty `client_id` (RFC 9068 §2.2). */
  clientId?: string | undefined;
}

/**
 * Verifies an access token: signature with a key chosen by `kid` and pinned algorithm, `typ`,
 * `iss`, `aud`, `exp`, `nbf`, `iat` not in the future and not older than the token lifetime,
 * a lifetime (`exp - iat`) within the configured one, and the presence and type of `sub`,
 * `sid`, `jti` and `client_id` (RFC 8725 and RFC 9068 checks jose leaves to the
 * caller). Returns `null` for any token that is not valid (an expected outcome, not an
 * exception); it never consults Redis.
 */
export async function verifyAccessTokenWith(options: VerifyOptions, token: string, nowMs: number): Promise<AccessTokenClaims | null> {
  if (token.length > MAX_ACCESS_TOKEN_BYTES || !COMPACT_JWS.test(token)) return null;
  try {
    const { payload } = await jwtVerify(token, options.getKey, {
      algorithms: options.algorithms,
      typ: ACCESS_TOKEN_TYPE,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'jti', 'sid', 'sub', 'client_id', 'aal', 'amr'],
      maxTokenAge: options.maxTokenAgeSeconds,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(nowMs),
    });
    const { sub, sid, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) return null;
    if (typeof sid !== 'string' || !ID_PATTERN.test(sid)) return null;
    if (typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
    if (exp - iat > options.maxTokenAgeSeconds + CLOCK_TOLERANCE_SECONDS) return null;
    const clientId = payload.client_id;
    if (typeof clientId !== 'string' || clientId === '' || (options.clientId !== undefined && clientId !== options.clientId)) return null;
    const { aal, amr } = payload as { aal?: unknown; amr?: unknown };
    if ((aal !== 1 && aal !== 2) || !Array.isArray(amr) || amr.length === 0 || !amr.every((method) => typeof method === 'string' && /^[a-z]{2,10}$/.test(method))) return null;
    return { userId: sub, sessionId: sid, tokenId: jti, issuedAt: iat, expiresAt: exp, aal, amr: amr as string[] };
  } catch {
    return null;
  }
}

/** {@link verifyAccessTokenWith} with this service's own keys and configuration. */
export function verifyAccessToken(keyRing: KeyRing, config: Config, token: string, nowMs: number): Promise<AccessTokenClaims | null> {
  return verifyAccessTokenWith(
    {
      getKey: (header) => keyRing.resolveVerifyKey(header),
      algorithms: keyRing.algorithms,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      maxTokenAgeSeconds: config.accessTokenTtlSeconds,
      clientId: config.jwtClientId,
    },
    token,
    nowMs,
  );
}
