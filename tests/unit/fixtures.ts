import { generateSigningKey, generateHmacSecret, type SigningAlgorithm } from '../../dev/keys';
import { AuthError } from '../../lib/errors';

/** A fixed instant for every time-dependent assertion (2030-01-01T00:00:00Z). */
export const NOW_MS = Date.UTC(2030, 0, 1);

export const ISSUER = 'https://auth.test';
export const AUDIENCE = 'https://api.test';

/** Ids in the server's format (16 random bytes, base64url). */
export const USER_ID = 'dXNlci0wMDAwMDAwMDAwMQ';
export const SESSION_ID = 'c2Vzc2lvbi0wMDAwMDAwMQ';
export const TOKEN_ID = 'dG9rZW4tMDAwMDAwMDAwMQ';

/** Redis at a closed port: any store access fails at once with ECONNREFUSED. */
export const CLOSED_REDIS_URL = 'http://127.0.0.1:9';

export type Env = Record<string, string | undefined>;

/** The required variables with harmless values; `overrides` on top (undefined deletes). */
export function baseEnv(overrides: Env = {}): Env {
  const env: Env = {
    UPSTASH_REDIS_REST_URL: CLOSED_REDIS_URL,
    UPSTASH_REDIS_REST_TOKEN: 'unit-test-token',
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    AUTH_SECRET: 'unit-test-auth-secret-of-32-bytes-or-more',
    MAIL_FROM: 'auth@example.test',
    SMTP_URL: 'smtp://127.0.0.1:9',
    EMAIL_VERIFY_URL: 'https://app.example.test/verify?token={token}',
    WEBAUTHN_RP_ID: 'app.example.test',
    WEBAUTHN_ORIGINS: 'https://app.example.test',
    PASSWORD_RESET_URL: 'https://app.example.test/reset?token={token}',
    BCRYPT_COST: '4',
    ...overrides,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

export interface SigningKeyPair {
  kid: string;
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
}

/** A fresh key pair; its `kid` is made unique so that two keys of one test never collide. */
export async function newKeyPair(algorithm: SigningAlgorithm, kid?: string): Promise<SigningKeyPair> {
  const pair = await generateSigningKey(algorithm);
  const id = kid ?? `${algorithm}-${Math.random().toString(36).slice(2, 10)}`;
  return { kid: id, privateJwk: { ...pair.privateJwk, kid: id }, publicJwk: { ...pair.publicJwk, kid: id } };
}

/** The AuthError code `run` throws; undefined when it returns, a readable mismatch for any other error. */
export function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof AuthError ? error.code : `not an AuthError: ${String(error)}`;
  }
  return undefined;
}

export { generateHmacSecret };
