import { importJWK, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';
import type { Config, JwtAlgorithm } from '../config';
import { ConfigError } from '../errors';

type VerifyKey = CryptoKey | Uint8Array;

/** The keys of one cold start: imported once, then only looked up. */
export interface KeyRing {
  /** Algorithm new tokens are signed with. */
  algorithm: JwtAlgorithm;
  /** `kid` put in the header of new tokens (none under HS256). */
  signingKid: string | undefined;
  /** Only in functions configured to `sign`; the others never import a private key. */
  signingKey: VerifyKey | undefined;
  /** Every algorithm some verification key uses; passed to jose as the pinned list. */
  algorithms: JwtAlgorithm[];
  /** Picks the verification key for a token header; throws when none matches kid and alg. */
  resolveVerifyKey(header: JWTHeaderParameters): VerifyKey;
  /** Public JWK Set served at /.well-known/jwks.json (empty under HS256). */
  jwks: { keys: JWK[] };
}

/** The key lookup of a function that holds no verification key (it only publishes, or signs nothing). */
function noVerifyKey(): never {
  throw new Error('no verification key in this function');
}

const ALG_BY_KEY_TYPE: Record<string, JwtAlgorithm> = { 'OKP/Ed25519': 'EdDSA', 'EC/P-256': 'ES256' };

/**
 * Imports the keys of this function once: the private key only when it signs (JWT_PRIVATE_KEY),
 * else the current public key (JWT_PUBLIC_KEY), and every extra verification key. Fails with
 * {@link ConfigError} on a key jose cannot import or whose type does not match its `alg`.
 */
export async function loadKeyRing(config: Config): Promise<KeyRing> {
  if (config.jwtAlgorithm === 'HS256') {
    if (!config.jwtSecret) {
      return { algorithm: 'HS256', signingKid: undefined, signingKey: undefined, algorithms: ['HS256'], resolveVerifyKey: noVerifyKey, jwks: { keys: [] } };
    }
    // Imported once: given raw bytes, jose would import them again on every sign and verify.
    const secret = await crypto.subtle.importKey('raw', config.jwtSecret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    return {
      algorithm: 'HS256',
      signingKid: undefined,
      signingKey: config.needs.sign ? secret : undefined,
      algorithms: ['HS256'],
      resolveVerifyKey: (header) => {
        if (header.alg !== 'HS256') throw new Error('algorithm not allowed');
        return secret;
      },
      jwks: { keys: [] },
    };
  }

  const privateJwk = config.jwtPrivateKey as JWK | undefined;
  const currentJwk = (privateJwk ?? config.jwtPublicKey) as JWK | undefined;
  if (!currentJwk) {
    return { algorithm: config.jwtAlgorithm, signingKid: undefined, signingKey: undefined, algorithms: [config.jwtAlgorithm], resolveVerifyKey: noVerifyKey, jwks: { keys: [] } };
  }
  const signingKid = currentJwk.kid!;
  const signingKey = privateJwk ? await importKey(privateJwk, config.jwtAlgorithm, 'JWT_PRIVATE_KEY') : undefined;
  const signingPublic = toPublicJwk(currentJwk, config.jwtAlgorithm);

  const entries = new Map<string, { alg: JwtAlgorithm; key: VerifyKey; jwk: JWK }>();
  entries.set(signingKid, { alg: config.jwtAlgorithm, key: await importKey(signingPublic, config.jwtAlgorithm, privateJwk ? 'JWT_PRIVATE_KEY' : 'JWT_PUBLIC_KEY'), jwk: signingPublic });
  for (const raw of config.jwtVerifyKeys as JWK[]) {
    const alg = algorithmOf(raw);
    const existing = entries.get(raw.kid!);
    if (existing) {
      // The signing key listed again during a rotation is fine; another key under its kid is not.
      if (existing.jwk.x !== raw.x || existing.jwk.y !== raw.y) {
        throw new ConfigError(`JWT_VERIFY_KEYS key "${raw.kid}" reuses the kid of a different key.`);
      }
      continue;
    }
    const jwk = toPublicJwk(raw, alg);
    entries.set(raw.kid!, { alg, key: await importKey(jwk, alg, 'JWT_VERIFY_KEYS'), jwk });
  }

  return {
    algorithm: config.jwtAlgorithm,
    signingKid,
    signingKey,
    algorithms: [...new Set([...entries.values()].map((entry) => entry.alg))],
    resolveVerifyKey: (header) => {
      const entry = header.kid === undefined ? undefined : entries.get(header.kid);
      // The key decides the algorithm, never the token: a kid of an EdDSA key with
      // alg ES256 (or HS256, the classic confusion attack) finds nothing.
      if (!entry || entry.alg !== header.alg) throw new Error('no matching verification key');
      return entry.key;
    },
    jwks: { keys: [...entries.values()].map((entry) => entry.jwk) },
  };
}

function algorithmOf(jwk: JWK): JwtAlgorithm {
  const alg = ALG_BY_KEY_TYPE[`${jwk.kty}/${jwk.crv}`];
  if (!alg || (jwk.alg !== undefined && jwk.alg !== alg)) {
    throw new ConfigError(`JWT_VERIFY_KEYS key "${jwk.kid}" must be an Ed25519 (EdDSA) or P-256 (ES256) public key.`);
  }
  return alg;
}

/** The public half with only the members a verifier needs. */
function toPublicJwk(jwk: JWK, alg: JwtAlgorithm): JWK {
  const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: jwk.kid, alg, use: 'sig' };
  if (jwk.kty === 'EC') publicJwk.y = jwk.y;
  return publicJwk;
}

async function importKey(jwk: JWK, alg: JwtAlgorithm, variable: string): Promise<CryptoKey> {
  try {
    const key = await importJWK({ ...jwk, alg }, alg);
    return key as CryptoKey;
  } catch (error) {
    throw new ConfigError(`${variable}: key "${jwk.kid}" cannot be imported as ${alg} (${(error as Error).message}).`);
  }
}
