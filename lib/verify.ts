import type { Redis } from '@upstash/redis';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet } from 'jose';
import { createKeys } from './store/keys';
import { readSessionLiveness } from './sessions/sessions';
import { verifyAccessTokenWith, type AccessTokenClaims } from './tokens/access-token';

export type { AccessTokenClaims } from './tokens/access-token';

export interface VerifierOptions {
  /**
   * The auth service's public keys: its JWK Set (e.g. passed in configuration) or the URL of
   * /.well-known/jwks.json (fetched once per cold start and cached by jose, refetched on an
   * unknown `kid`, which is how a rotation reaches verifiers).
   */
  jwks: JSONWebKeySet | URL;
  issuer: string;
  audience: string;
  /** Access token lifetime of the issuing service, for the token-age check (default 900). */
  maxTokenAgeSeconds?: number;
  /** Require this `client_id` (JWT_CLIENT_ID of the issuing service); by default any non-empty one. */
  clientId?: string;
  /** Require this assurance level: 2 refuses tokens of sessions without a second factor. */
  requireAal?: 1 | 2;
  /**
   * Also require the token's session to be alive, over the same Redis the auth service uses
   * (one read-only request). Without it, a revoked session's token is accepted until it expires.
   */
  session?: { redis: Redis; keyPrefix?: string };
  /** Clock for tests (ms since the epoch). */
  now?: () => number;
}

export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims | null>;

/**
 * Builds a verifier for services that are not behind the API Gateway authorizer (function
 * URLs, Lambdas invoked by other Lambdas). The same checks as the authorizer, with the keys
 * of a JWK Set: EdDSA/ES256 only (a public key set cannot verify HS256), `typ: at+jwt`,
 * `iss`, `aud`, required `exp/iat/jti/sid/sub`, token age, 5 s clock tolerance, 8 KiB cap;
 * and, with `session`, that the session is alive. Returns `null` for a token that does not
 * pass; a Redis fault in the session check throws (StoreUnavailableError): deny on it.
 */
export function createAccessTokenVerifier(options: VerifierOptions): AccessTokenVerifier {
  const getKey = options.jwks instanceof URL ? createRemoteJWKSet(options.jwks) : createLocalJWKSet(options.jwks);
  const now = options.now ?? Date.now;
  const sessionKeys = options.session ? createKeys(options.session.keyPrefix ?? 'auth:') : undefined;
  const verifyOptions = {
    getKey,
    algorithms: ['EdDSA', 'ES256'],
    issuer: options.issuer,
    audience: options.audience,
    maxTokenAgeSeconds: options.maxTokenAgeSeconds ?? 900,
    clientId: options.clientId,
  };

  return async (token) => {
    const claims = await verifyAccessTokenWith(verifyOptions, token, now());
    if (claims && options.requireAal === 2 && claims.aal !== 2) return null;
    if (!claims || !options.session || !sessionKeys) return claims;
    const live = await readSessionLiveness(options.session.redis, sessionKeys, claims.userId, claims.sessionId, now());
    return live ? claims : null;
  };
}

const verifiers = new WeakMap<VerifierOptions, AccessTokenVerifier>();

/**
 * One-call form of {@link createAccessTokenVerifier}: verifies `token` with the verifier built
 * (once) for this options object. Keep the options object at module scope, so the keys are
 * imported once per cold start, not per call.
 */
export function verifyAccessToken(token: string, options: VerifierOptions): Promise<AccessTokenClaims | null> {
  let verify = verifiers.get(options);
  if (!verify) verifiers.set(options, (verify = createAccessTokenVerifier(options)));
  return verify(token);
}
