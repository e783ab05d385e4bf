import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { generateSigningKey } from '../../dev/keys';
import { api, expectDenied, registerAndLogin } from './client';

/**
 * A rotation in progress, over HTTP: the stack signs with its current key and lists a
 * previous key in JWT_VERIFY_KEYS (tests/support/stack-setup.ts). The full procedure, step by
 * step across deployments, is walked in tests/integration/key-rotation.test.ts.
 */
const env = inject('stackEnv');
const previous = JSON.parse(inject('previousSigningKey')) as { kid: string };

async function signWith(jwk: Record<string, unknown>, userId: string, sessionId: string): Promise<string> {
  const key = await importJWK(jwk, 'EdDSA');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: sessionId, client_id: env.JWT_CLIENT_ID ?? 'app', aal: 1, amr: ['pwd'] })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: jwk.kid as string })
    .setIssuer(env.JWT_ISSUER!)
    .setAudience(env.JWT_AUDIENCE!)
    .setSubject(userId)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(key);
}

describe('key rotation over HTTP', () => {
  it('publishes the signing key and the verify-only key, public halves only, cacheable', async () => {
    const response = await api('GET', '/.well-known/jwks.json');
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const kids = (response.body.keys as { kid: string; d?: string }[]).map((key) => key.kid);
    expect(kids).toContain(JSON.parse(env.JWT_PRIVATE_KEY!).kid);
    expect(kids).toContain(previous.kid);
    expect((response.body.keys as object[]).every((key) => !('d' in key))).toBe(true);
  });

  it('accepts a token of the previous key (verify-only), and refuses one of a key no longer listed', async () => {
    const tokens = await registerAndLogin('rotation');
    const ofPrevious = await signWith(JSON.parse(inject('previousSigningKey')), tokens.user.id, tokens.sessionId);
    expect((await api('GET', '/auth/me', { token: ofPrevious })).status).toBe(200);

    const removed = await generateSigningKey('EdDSA');
    expectDenied(await api('GET', '/auth/me', { token: await signWith(removed.privateJwk, tokens.user.id, tokens.sessionId) }));
  });
});
