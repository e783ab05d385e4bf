import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { api, registerAndLogin } from './client';

/**
 * A verifier that knows only the issuer (RFC 8414 discovery) and checks what RFC 9068 requires,
 * with jose as a third party would use it: metadata → jwks_uri → createRemoteJWKSet → verify.
 */
const env = inject('stackEnv');

describe('discovery from the issuer (RFC 8414) and RFC 9068 access tokens', () => {
  it('publishes metadata whose jwks_uri verifies a real access token with client_id required', async () => {
    const response = await api('GET', '/.well-known/oauth-authorization-server');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const metadata = response.body as { issuer: string; jwks_uri: string; access_token_signing_alg_values_supported: string[] };
    expect(metadata.issuer).toBe(env.JWT_ISSUER);
    expect(metadata.jwks_uri).toBe(`${env.JWT_ISSUER}/.well-known/jwks.json`);
    expect(metadata.access_token_signing_alg_values_supported).toEqual([env.JWT_ALGORITHM || 'EdDSA']);

    const tokens = await registerAndLogin('discovery');
    const { payload, protectedHeader } = await jwtVerify(tokens.accessToken, createRemoteJWKSet(new URL(metadata.jwks_uri)), {
      issuer: metadata.issuer,
      audience: env.JWT_AUDIENCE,
      algorithms: metadata.access_token_signing_alg_values_supported,
      typ: 'at+jwt',
      requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: tokens.user.id, sid: tokens.sessionId, client_id: env.JWT_CLIENT_ID ?? 'app' });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(Number(env.ACCESS_TOKEN_TTL_SECONDS ?? 900));
  });
});
