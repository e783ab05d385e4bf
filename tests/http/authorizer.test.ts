import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api, decodeJwtPart, expectDenied, login, me, register, registerAndLogin, uniqueEmail, type TokenResponse } from './client';

/**
 * Every token fault the authorizer must deny, seen through GET /auth/me. Forged tokens are
 * signed with the stack's own private key and differ from a valid token in exactly one way;
 * the control case (nothing altered) must be allowed, which proves the forging is right.
 */

type Claims = Record<string, unknown>;
type Header = { alg: string; typ?: string; kid?: string; [name: string]: unknown };

const env = () => inject('stackEnv');
let signingJwk: JWK;
let signingKey: CryptoKey | Uint8Array;
let algorithm: string;
let victim: TokenResponse;
let bystander: TokenResponse;

beforeAll(async () => {
  signingJwk = JSON.parse(env().JWT_PRIVATE_KEY!) as JWK;
  algorithm = env().JWT_ALGORITHM || (signingJwk.kty === 'EC' ? 'ES256' : 'EdDSA');
  signingKey = await importJWK(signingJwk, algorithm);
  victim = await registerAndLogin('victim');
  bystander = await registerAndLogin('bystander');
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The claims of a valid access token for the victim's live session. */
function validClaims(): Claims {
  const now = nowSeconds();
  return {
    iss: env().JWT_ISSUER,
    aud: env().JWT_AUDIENCE,
    sub: victim.user.id,
    sid: victim.sessionId,
    jti: randomBytes(16).toString('base64url'),
    client_id: env().JWT_CLIENT_ID ?? 'app',
    aal: 1,
    amr: ['pwd'],
    iat: now,
    exp: now + 600,
  };
}

function validHeader(): Header {
  return { alg: algorithm, typ: 'at+jwt', kid: signingJwk.kid! };
}

/** A token with the valid claims and header, changed by `alter`, signed with `key`. */
async function forge(
  alter: { claims?: Claims; omit?: string[]; header?: Partial<Header>; omitHeader?: string[] } = {},
  key: CryptoKey | Uint8Array = signingKey,
): Promise<string> {
  const claims: Claims = { ...validClaims(), ...alter.claims };
  for (const name of alter.omit ?? []) delete claims[name];
  const header = { ...validHeader(), ...alter.header } as Header;
  for (const name of alter.omitHeader ?? []) delete header[name];
  return new SignJWT(claims).setProtectedHeader(header as never).sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Denied by the authorizer, and its handler never ran: /auth/me is refused, and so is
 * /auth/logout, after which the victim's session is still alive (a logout that ran would
 * have revoked it).
 */
async function expectRefused(token: string): Promise<void> {
  expectDenied(await me(token));
  expectDenied(await api('POST', '/auth/logout', { token }));
  const still = await me(victim.accessToken);
  expect(still.status, 'the victim session survived').toBe(200);
}

describe('the authorizer', () => {
  it('control: a forged token with every claim right is allowed (the forging helper is correct)', async () => {
    const token = await forge();
    const response = await me(token);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ user: { ...victim.user, emailVerified: false, mfa: { totp: false }, passkeys: 0, createdAt: expect.any(String) }, session: { id: victim.sessionId, aal: 1, amr: ['pwd'] } });
    // The genuine token has the same header fields and claim names as the forged ones.
    expect(Object.keys(decodeJwtPart(victim.accessToken, 1)).sort()).toEqual(Object.keys(validClaims()).sort());
    expect(decodeJwtPart(victim.accessToken, 0)).toEqual(validHeader());
  });

  it('no Authorization header: 401, handler not run', async () => {
    expectDenied(await api('GET', '/auth/me'), 401);
    expectDenied(await api('POST', '/auth/logout'), 401);
  });

  it.each([
    ['empty header', ''],
    ['"Bearer" with no token', 'Bearer'],
    ['"Bearer " with blanks', 'Bearer    '],
    ['Basic credentials', `Basic ${Buffer.from('victim@example.com:password').toString('base64')}`],
    ['the token without a scheme', 'TOKEN'],
    ['two tokens', 'Bearer TOKEN TOKEN'],
    ['another scheme with the token', 'Token TOKEN'],
  ])('malformed header (%s): denied', async (_name, header) => {
    const value = header.replaceAll('TOKEN', victim.accessToken);
    expectDenied(await api('GET', '/auth/me', { headers: { authorization: value } }));
    expectDenied(await api('POST', '/auth/logout', { headers: { authorization: value } }));
    expect((await me(victim.accessToken)).status).toBe(200);
  });

  const cases: [string, () => Promise<string>][] = [
    ['alg none (unsigned)', async () => `${b64({ ...validHeader(), alg: 'none' })}.${b64(validClaims())}.`],
    ['alg none with the genuine signature', async () => {
      const [, , signature] = victim.accessToken.split('.');
      return `${b64({ ...validHeader(), alg: 'none' })}.${b64(validClaims())}.${signature}`;
    }],
    ['HS256 with a random secret', () => forge({ header: { alg: 'HS256' } }, randomBytes(32))],
    ['HS256 with a random secret and no kid', () => forge({ header: { alg: 'HS256' }, omitHeader: ['kid'] }, randomBytes(32))],
    ['HS256 keyed with the public JWK (algorithm confusion)', async () => {
      const { d: _d, ...publicJwk } = signingJwk;
      return forge({ header: { alg: 'HS256' } }, new TextEncoder().encode(JSON.stringify(publicJwk)));
    }],
    ['HS256 keyed with the raw public key bytes', () => forge({ header: { alg: 'HS256' } }, Buffer.from(signingJwk.x!, 'base64url'))],
    ['ES256 with another key, the real kid', async () => forge({ header: { alg: 'ES256' } }, (await generateKeyPair('ES256')).privateKey)],
    ['ES256 with another key, its own kid', async () => forge({ header: { alg: 'ES256', kid: 'attacker-es256' } }, (await generateKeyPair('ES256')).privateKey)],
    ['another Ed25519 key, the real kid', async () => forge({ header: { alg: 'EdDSA' } }, (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey)],
    ['an unknown key with an unknown kid', async () => forge({ header: { alg: 'EdDSA', kid: 'attacker-kid' } }, (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey)],
    ['an unknown key with its public JWK embedded (jwk header)', async () => {
      const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      return forge({ header: { alg: 'EdDSA', kid: 'attacker-jwk', jwk: await exportJWK(pair.publicKey) } }, pair.privateKey);
    }],
    ['the right key with an unknown kid', () => forge({ header: { kid: 'not-a-live-kid' } })],
    ['the right key with no kid', () => forge({ omitHeader: ['kid'] })],
    ['a tampered payload (one character of jti changed, signature kept)', async () => {
      const [header, payload, signature] = victim.accessToken.split('.') as [string, string, string];
      const claims = decodeJwtPart(victim.accessToken, 1);
      const jti = claims.jti as string;
      claims.jti = `${jti.slice(0, -1)}${jti.endsWith('A') ? 'B' : 'A'}`;
      const tampered = b64(claims);
      expect(tampered).not.toBe(payload);
      return `${header}.${tampered}.${signature}`;
    }],
    ['a tampered payload (sub swapped to another user, signature kept)', async () => {
      const [header, , signature] = victim.accessToken.split('.') as [string, string, string];
      return `${header}.${b64({ ...decodeJwtPart(victim.accessToken, 1), sub: bystander.user.id, sid: bystander.sessionId })}.${signature}`;
    }],
    ['a tampered signature (one character changed)', async () => {
      const [header, payload, signature] = victim.accessToken.split('.') as [string, string, string];
      const i = Math.floor(signature.length / 2);
      return `${header}.${payload}.${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
    }],
    ['no signature part', async () => victim.accessToken.split('.').slice(0, 2).join('.')],
    ['expired beyond the 5 s tolerance', () => forge({ claims: { iat: nowSeconds() - 120, exp: nowSeconds() - 10 } })],
    ['iat in the future', () => forge({ claims: { iat: nowSeconds() + 60, exp: nowSeconds() + 600 } })],
    ['nbf in the future', () => forge({ claims: { nbf: nowSeconds() + 60 } })],
    ['wrong iss', () => forge({ claims: { iss: 'https://evil.example.com' } })],
    ['missing iss', () => forge({ omit: ['iss'] })],
    ['wrong aud', () => forge({ claims: { aud: 'https://other-api.example.com' } })],
    ['aud as a list without ours', () => forge({ claims: { aud: ['https://other-api.example.com'] } })],
    ['missing aud', () => forge({ omit: ['aud'] })],
    ['typ JWT', () => forge({ header: { typ: 'JWT' } })],
    ['no typ', () => forge({ omitHeader: ['typ'] })],
    ['missing sid', () => forge({ omit: ['sid'] })],
    ['missing jti', () => forge({ omit: ['jti'] })],
    ['missing sub', () => forge({ omit: ['sub'] })],
    ['missing client_id', () => forge({ omit: ['client_id'] })],
    ['a lifetime (exp - iat) beyond the configured one', () => forge({ claims: { iat: nowSeconds() - 10, exp: nowSeconds() + 3600 } })],
    ['missing exp', () => forge({ omit: ['exp'] })],
    ['sid of another user\'s live session', () => forge({ claims: { sid: bystander.sessionId } })],
    ['a session id that does not exist', () => forge({ claims: { sid: randomBytes(16).toString('base64url') } })],
    ['a refresh token used as an access token', async () => victim.refreshToken],
    ['a token over 8 KiB', async () => {
      const token = await forge({ claims: { pad: 'x'.repeat(6_300) } });
      expect(token.length).toBeGreaterThan(8_192);
      return token;
    }],
    ['garbage', async () => 'not-a-jwt'],
  ];

  it.each(cases)('denies %s', async (_name, make) => {
    await expectRefused(await make());
  });

  it('the size limit is the only fault of the 8 KiB+ case: just under it, the same token is allowed', async () => {
    const token = await forge({ claims: { pad: 'x'.repeat(5_500) } });
    expect(token.length).toBeLessThan(8_192);
    expect((await me(token)).status).toBe(200);
  });

  it('denies a valid token of a revoked session (after logout), immediately', async () => {
    const session = await registerAndLogin('revoked');
    expect((await me(session.accessToken)).status).toBe(200);
    expect((await api('POST', '/auth/logout', { token: session.accessToken })).status).toBe(204);
    expectDenied(await me(session.accessToken));
    // A freshly forged token for the revoked session (valid signature, claims, times) too.
    const forged = await forge({ claims: { sub: session.user.id, sid: session.sessionId } });
    expectDenied(await me(forged));
  });

  describe('Redis cost (the Upstash-REST gateway counts what reaches Redis)', () => {
    const gateway = () => inject('stackGatewayUrl');
    const auth = () => ({ authorization: `Bearer ${inject('stackGatewayToken')}` });
    const resetStats = async () => {
      const response = await fetch(`${gateway()}/__stats/reset`, { method: 'POST', headers: auth() });
      expect(response.ok).toBe(true);
    };
    const readStats = async () => {
      const response = await fetch(`${gateway()}/__stats`, { headers: auth() });
      expect(response.ok).toBe(true);
      return (await response.json()) as { requests: Record<string, number>; commands: Record<string, number>; writes: number; scripts: number };
    };
    const requestCount = (stats: { requests: Record<string, number> }) => Object.values(stats.requests).reduce((sum, n) => sum + n, 0);

    it('an allowed GET /auth/me costs 2 read-only requests: one for the authorizer, one for the handler', async () => {
      const session = await login(await register(uniqueEmail('cost')).then((user) => user.email));
      expect((await me(session.accessToken)).status).toBe(200); // warm both functions
      await resetStats();
      expect((await me(session.accessToken)).status).toBe(200);
      const stats = await readStats();
      // The authorizer reads the session once (HMGET) and writes nothing; /auth/me itself
      // reads it once more with the user's email (one pipeline of two HMGETs). So the pair
      // costs exactly 2 requests and 0 writes.
      expect(requestCount(stats)).toBe(2);
      expect(stats.writes).toBe(0);
      expect(stats.scripts).toBe(0);
      expect(stats.commands).toEqual({ HMGET: 3 });
    });

    it('a denied decision for a revoked session costs 1 read-only request and the handler does not run', async () => {
      const session = await registerAndLogin('cost-revoked');
      expect((await api('POST', '/auth/logout', { token: session.accessToken })).status).toBe(204);
      await resetStats();
      expectDenied(await me(session.accessToken));
      const stats = await readStats();
      expect(requestCount(stats)).toBe(1);
      expect(stats.writes).toBe(0);
      expect(stats.commands).toEqual({ HMGET: 1 });
    });

    it('a token that fails verification costs no Redis request at all', async () => {
      await resetStats();
      expectDenied(await me(await forge({ claims: { aud: 'https://other-api.example.com' } })));
      expectDenied(await me('not-a-jwt'));
      const stats = await readStats();
      expect(requestCount(stats)).toBe(0);
    });
  });
});
