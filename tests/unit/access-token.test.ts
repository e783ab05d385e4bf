import { randomBytes } from 'node:crypto';
import {
  CompactSign,
  UnsecuredJWT,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWTHeaderParameters,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../lib/config';
import { ConfigError } from '../../lib/errors';
import { MAX_ACCESS_TOKEN_BYTES, signAccessToken, verifyAccessToken } from '../../lib/tokens/access-token';
import { loadKeyRing, type KeyRing } from '../../lib/tokens/key-ring';
import { deriveRefreshTokenKey, formatRefreshToken } from '../../lib/tokens/refresh-token';
import {
  AUDIENCE,
  ISSUER,
  NOW_MS,
  SESSION_ID,
  TOKEN_ID,
  USER_ID,
  baseEnv,
  generateHmacSecret,
  newKeyPair,
  type Env,
  type SigningKeyPair,
} from './fixtures';

const NOW_S = NOW_MS / 1000;
const TTL_S = 900;
const FAR_DEADLINE_MS = NOW_MS + 7 * 24 * 3600 * 1000;

interface Setup {
  config: Config;
  ring: KeyRing;
}

async function setup(overrides: Env): Promise<Setup> {
  const config = loadConfig(baseEnv(overrides));
  return { config, ring: await loadKeyRing(config) };
}

function edEnv(pair: SigningKeyPair, verifyKeys: SigningKeyPair[] = []): Env {
  return {
    JWT_ALGORITHM: 'EdDSA',
    JWT_PRIVATE_KEY: JSON.stringify(pair.privateJwk),
    ...(verifyKeys.length ? { JWT_VERIFY_KEYS: JSON.stringify({ keys: verifyKeys.map((key) => key.publicJwk) }) } : {}),
  };
}

async function sign({ config, ring }: Setup, nowMs = NOW_MS, sessionExpiresAtMs = FAR_DEADLINE_MS) {
  return signAccessToken(ring, config, { userId: USER_ID, sessionId: SESSION_ID, tokenId: TOKEN_ID, nowMs, sessionExpiresAtMs, aal: 1, amr: ['pwd'] });
}

function verify({ config, ring }: Setup, token: string, nowMs = NOW_MS) {
  return verifyAccessToken(ring, config, token, nowMs);
}

/** The claims a valid token carries, at NOW. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: USER_ID,
    sid: SESSION_ID,
    jti: TOKEN_ID,
    client_id: 'app',
    aal: 1,
    amr: ['pwd'],
    iat: NOW_S,
    exp: NOW_S + TTL_S,
    ...overrides,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return payload;
}

/** Signs any header and payload, bypassing every check of the service's signer. */
async function craft(header: JWTHeaderParameters, payload: Record<string, unknown>, key: CryptoKey | Uint8Array): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let ed: SigningKeyPair;
let ed2: SigningKeyPair;
let es: SigningKeyPair;
let edPrivate: CryptoKey;
let esPrivate: CryptoKey;
let edRing: Setup;

beforeAll(async () => {
  [ed, ed2, es] = await Promise.all([newKeyPair('EdDSA'), newKeyPair('EdDSA'), newKeyPair('ES256')]);
  edPrivate = (await importJWK(ed.privateJwk, 'EdDSA')) as CryptoKey;
  esPrivate = (await importJWK(es.privateJwk, 'ES256')) as CryptoKey;
  edRing = await setup(edEnv(ed));
});

/** A crafted token with the EdDSA ring's key and valid header, with `header`/`payload` changes. */
function edToken(payload: Record<string, unknown> = claims(), header: Partial<JWTHeaderParameters> = {}) {
  const full = { alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid, ...header } as JWTHeaderParameters;
  for (const [name, value] of Object.entries(full)) if (value === undefined) delete full[name];
  return craft(full, payload, edPrivate);
}

describe('access tokens', () => {
  describe('signing and verifying', () => {
    it('round-trips an EdDSA token with typ at+jwt and the signing kid', async () => {
      const { token, expiresIn } = await sign(edRing);
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid });
      expect(expiresIn).toBe(TTL_S);
      expect(await verify(edRing, token)).toEqual({
        userId: USER_ID,
        sessionId: SESSION_ID,
        tokenId: TOKEN_ID,
        issuedAt: NOW_S,
        expiresAt: NOW_S + TTL_S,
        aal: 1,
        amr: ['pwd'],
      });
    });

    it('carries iss, aud, sub, sid, jti, iat and exp', async () => {
      const { token } = await sign(edRing);
      expect(decodeJwt(token)).toEqual(claims());
    });

    it('round-trips an ES256 token with typ at+jwt and the signing kid', async () => {
      const ring = await setup({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: JSON.stringify(es.privateJwk) });
      const { token } = await sign(ring);
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: es.kid });
      expect(await verify(ring, token)).toMatchObject({ userId: USER_ID, sessionId: SESSION_ID });
    });

    it('round-trips an HS256 token, with no kid in its header', async () => {
      const ring = await setup({ JWT_ALGORITHM: 'HS256', JWT_SECRET: generateHmacSecret() });
      const { token } = await sign(ring);
      expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
      expect(await verify(ring, token)).toMatchObject({ userId: USER_ID, sessionId: SESSION_ID });
    });

    it('never lets a token outlive its session: exp = min(now + ttl, session deadline)', async () => {
      const short = await sign(edRing, NOW_MS, NOW_MS + 60_000);
      expect(decodeJwt(short.token).exp).toBe(NOW_S + 60);
      expect(short.expiresIn).toBe(60);
      const long = await sign(edRing, NOW_MS, FAR_DEADLINE_MS);
      expect(decodeJwt(long.token).exp).toBe(NOW_S + TTL_S);
      // Sub-second deadlines round down, never up.
      expect(decodeJwt((await sign(edRing, NOW_MS, NOW_MS + 60_999)).token).exp).toBe(NOW_S + 60);
    });

    it('follows ACCESS_TOKEN_TTL_SECONDS', async () => {
      const ring = await setup({ ...edEnv(ed), ACCESS_TOKEN_TTL_SECONDS: '60' });
      const { token, expiresIn } = await sign(ring);
      expect(decodeJwt(token).exp).toBe(NOW_S + 60);
      expect(expiresIn).toBe(60);
    });
  });

  describe('clock checks (5 s tolerance, from the caller clock)', () => {
    it('accepts a token up to 5 s past its exp and refuses it beyond', async () => {
      const { token } = await sign(edRing);
      const expMs = (NOW_S + TTL_S) * 1000;
      expect(await verify(edRing, token, expMs + 4_000)).not.toBeNull();
      expect(await verify(edRing, token, expMs + 6_000)).toBeNull();
      expect(await verify(edRing, token, expMs + 3_600_000)).toBeNull();
    });

    it('refuses a token whose nbf is more than 5 s ahead, and accepts one within 5 s', async () => {
      expect(await verify(edRing, await edToken(claims({ nbf: NOW_S + 60 })))).toBeNull();
      expect(await verify(edRing, await edToken(claims({ nbf: NOW_S + 3 })))).not.toBeNull();
    });

    it('refuses a token issued more than 5 s in the future', async () => {
      expect(await verify(edRing, await edToken(claims({ iat: NOW_S + 60, exp: NOW_S + 60 + TTL_S })))).toBeNull();
      expect(await verify(edRing, await edToken(claims({ iat: NOW_S + 3, exp: NOW_S + 3 + TTL_S })))).not.toBeNull();
    });

    it('refuses a token issued longer ago than the access token lifetime, whatever its exp says', async () => {
      expect(await verify(edRing, await edToken(claims({ iat: NOW_S - TTL_S - 60, exp: NOW_S + 3600 })))).toBeNull();
    });
  });

  describe('refuses (null, never a throw)', () => {
    it('a token signed with alg none', async () => {
      const unsecured = new UnsecuredJWT(claims()).encode();
      expect(await verify(edRing, unsecured)).toBeNull();
      const byHand = `${b64url({ alg: 'none', typ: 'at+jwt', kid: ed.kid })}.${b64url(claims())}.`;
      expect(await verify(edRing, byHand)).toBeNull();
      const valid = (await sign(edRing)).token;
      const [, payload, signature] = valid.split('.');
      expect(await verify(edRing, `${b64url({ alg: 'none', typ: 'at+jwt', kid: ed.kid })}.${payload}.${signature}`)).toBeNull();
    });

    it('an HS256 token keyed with the public key (algorithm confusion)', async () => {
      const header = { alg: 'HS256', typ: 'at+jwt', kid: ed.kid };
      const publicJson = new TextEncoder().encode(JSON.stringify(ed.publicJwk));
      const publicRaw = new Uint8Array(Buffer.from(String(ed.publicJwk.x), 'base64url'));
      expect(await verify(edRing, await craft(header, claims(), publicJson))).toBeNull();
      expect(await verify(edRing, await craft(header, claims(), publicRaw))).toBeNull();
    });

    it('an ES256 token when the ring is EdDSA only, even with the signing kid', async () => {
      expect(await verify(edRing, await craft({ alg: 'ES256', typ: 'at+jwt', kid: ed.kid }, claims(), esPrivate))).toBeNull();
      expect(await verify(edRing, await craft({ alg: 'ES256', typ: 'at+jwt', kid: es.kid }, claims(), esPrivate))).toBeNull();
    });

    it('a token whose signature was altered', async () => {
      const { token } = await sign(edRing);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const middle = Math.floor(signature.length / 2);
      const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
      expect(await verify(edRing, `${header}.${payload}.${flipped}`)).toBeNull();
      expect(await verify(edRing, `${header}.${payload}.`)).toBeNull();
    });

    it('a token whose payload was altered after signing', async () => {
      const { token } = await sign(edRing);
      const [header, , signature] = token.split('.');
      expect(await verify(edRing, `${header}.${b64url(claims({ sub: 'YXR0YWNrZXItMDAwMDAwMQ' }))}.${signature}`)).toBeNull();
    });

    it('a token signed by a key that is not in the ring, under a known kid', async () => {
      const stranger = (await importJWK(ed2.privateJwk, 'EdDSA')) as CryptoKey;
      expect(await verify(edRing, await craft({ alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid }, claims(), stranger))).toBeNull();
    });

    it('a token from another issuer', async () => {
      expect(await verify(edRing, await edToken(claims({ iss: 'https://evil.test' })))).toBeNull();
    });

    it('a token for another audience', async () => {
      expect(await verify(edRing, await edToken(claims({ aud: 'https://other-api.test' })))).toBeNull();
      expect(await verify(edRing, await edToken(claims({ aud: [] })))).toBeNull();
    });

    it.each([['JWT'], ['jwt'], ['rt+jwt'], ['application/json'], [undefined]])('a token with typ %j', async (typ) => {
      expect(await verify(edRing, await edToken(claims(), { typ }))).toBeNull();
    });

    it.each(['exp', 'iat', 'jti', 'sid', 'sub', 'iss', 'aud', 'client_id', 'aal', 'amr'])('a token without %s', async (claim) => {
      expect(await verify(edRing, await edToken(claims({ [claim]: undefined })))).toBeNull();
    });

    it.each([
      ['sub', 12345],
      ['sub', { id: USER_ID }],
      ['sub', [USER_ID]],
      ['sub', ''],
      ['sid', 12345],
      ['sid', { id: SESSION_ID }],
      ['sid', null],
      ['sid', ''],
      ['jti', 12345],
      ['client_id', ''],
      ['client_id', 42],
      ['client_id', 'another-client'],
      ['aal', 3],
      ['aal', '2'],
      ['amr', 'pwd'],
      ['amr', []],
      ['amr', ['PWD; drop']],
      ['exp', String(NOW_S + TTL_S)],
      ['iat', String(NOW_S)],
    ])('a token whose %s is %j', async (claim, value) => {
      expect(await verify(edRing, await edToken(claims({ [claim]: value })))).toBeNull();
    });

    it('a token whose lifetime (exp - iat) exceeds ACCESS_TOKEN_TTL_SECONDS + 5 s, though it is fresh and unexpired', async () => {
      expect(await verify(edRing, await edToken(claims({ exp: NOW_S + TTL_S + 5 })))).not.toBeNull();
      expect(await verify(edRing, await edToken(claims({ exp: NOW_S + TTL_S + 6 })))).toBeNull();
      expect(await verify(edRing, await edToken(claims({ exp: NOW_S + 365 * 86_400 })))).toBeNull();
    });

    it('a token with an unknown kid, or none', async () => {
      expect(await verify(edRing, await edToken(claims(), { kid: 'no-such-key' }))).toBeNull();
      expect(await verify(edRing, await edToken(claims(), { kid: undefined }))).toBeNull();
    });

    it('the kid of one ring key with the alg of another', async () => {
      const mixed = await setup(edEnv(ed, [es]));
      // Control: each key works under its own kid and alg.
      expect(await verify(mixed, await craft({ alg: 'ES256', typ: 'at+jwt', kid: es.kid }, claims(), esPrivate))).not.toBeNull();
      expect(await verify(mixed, await craft({ alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid }, claims(), edPrivate))).not.toBeNull();
      // Swapped: refused.
      expect(await verify(mixed, await craft({ alg: 'ES256', typ: 'at+jwt', kid: ed.kid }, claims(), esPrivate))).toBeNull();
      expect(await verify(mixed, await craft({ alg: 'EdDSA', typ: 'at+jwt', kid: es.kid }, claims(), edPrivate))).toBeNull();
    });

    it('a token longer than 8 KiB, even if correctly signed', async () => {
      const fits = await edToken(claims({ pad: 'x'.repeat(5_000) }));
      expect(fits.length).toBeLessThanOrEqual(MAX_ACCESS_TOKEN_BYTES);
      expect(await verify(edRing, fits)).not.toBeNull();
      const tooLong = await edToken(claims({ pad: 'x'.repeat(7_000) }));
      expect(tooLong.length).toBeGreaterThan(MAX_ACCESS_TOKEN_BYTES);
      expect(await verify(edRing, tooLong)).toBeNull();
    });

    it('a refresh token presented as an access token', async () => {
      expect(await verify(edRing, formatRefreshToken(deriveRefreshTokenKey(randomBytes(32)), { userId: 'dXNlci0wMDAwMDAwMDAwMDE', sessionId: SESSION_ID, generation: 0 }))).toBeNull();
    });

    it.each(['', 'garbage', 'a.b.c', '..', '...', 'Bearer x', 'eyJhbGciOiJFZERTQSJ9.e30.c2ln', 'a.b.c.d.e', '\u0000', '🙂.🙂.🙂'])(
      'the garbage string %j',
      async (garbage) => {
        expect(await verify(edRing, garbage)).toBeNull();
      },
    );

    it('a valid token with a segment appended', async () => {
      const { token } = await sign(edRing);
      expect(await verify(edRing, `${token}.x`)).toBeNull();
      expect(await verify(edRing, `${token}.`)).toBeNull();
    });

    // Not canonical base64url: jose's decoder (Uint8Array.fromBase64 / atob) skips ASCII
    // whitespace, so these decode to the genuine signature unless the format is checked first.
    it('a valid token with whitespace in or after its signature (a malformed token)', async () => {
      const { token } = await sign(edRing);
      const cut = token.length - 10;
      expect(await verify(edRing, `${token} `)).toBeNull();
      expect(await verify(edRing, `${token}\n`)).toBeNull();
      expect(await verify(edRing, `${token.slice(0, cut)} ${token.slice(cut)}`)).toBeNull();
    });

    describe('under HS256', () => {
      let hs: Setup;
      beforeAll(async () => {
        hs = await setup({ JWT_ALGORITHM: 'HS256', JWT_SECRET: generateHmacSecret() });
      });

      it('a token signed with another secret', async () => {
        const other = new TextEncoder().encode(generateHmacSecret());
        expect(await verify(hs, await craft({ alg: 'HS256', typ: 'at+jwt' }, claims(), other))).toBeNull();
      });

      it('an EdDSA token, an alg none token and a token with the wrong typ', async () => {
        expect(await verify(hs, await edToken())).toBeNull();
        expect(await verify(hs, new UnsecuredJWT(claims()).encode())).toBeNull();
        expect(await verify(hs, await craft({ alg: 'HS256', typ: 'JWT' }, claims(), hs.config.jwtSecret!))).toBeNull();
        expect(await verify(hs, await craft({ alg: 'HS384', typ: 'at+jwt' }, claims(), hs.config.jwtSecret!))).toBeNull();
      });
    });
  });

  describe('key rotation', () => {
    it('verifies a token of the previous key while it is listed in JWT_VERIFY_KEYS, and refuses it once removed', async () => {
      const { token } = await sign(edRing);
      const during = await setup(edEnv(ed2, [ed]));
      expect(await verify(during, token)).toMatchObject({ userId: USER_ID, sessionId: SESSION_ID });
      const after = await setup(edEnv(ed2));
      expect(await verify(after, token)).toBeNull();
      // New tokens are signed with the new key either way.
      expect(decodeProtectedHeader((await sign(during)).token).kid).toBe(ed2.kid);
    });

    it('accepts a verify key of the other asymmetric algorithm', async () => {
      const esRing = await setup({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: JSON.stringify(es.privateJwk) });
      const { token } = await sign(esRing);
      expect(await verify(await setup(edEnv(ed, [es])), token)).not.toBeNull();
    });

    it('publishes the signing key and every verify key in the JWKS, public members only', async () => {
      const ring = await setup(edEnv(ed2, [ed, es]));
      const keys = ring.ring.jwks.keys;
      expect(keys.map((key) => key.kid)).toEqual([ed2.kid, ed.kid, es.kid]);
      for (const key of keys) {
        expect(key).not.toHaveProperty('d');
        expect(Object.keys(key).every((member) => ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'].includes(member))).toBe(true);
        expect(key.use).toBe('sig');
      }
      expect(keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: ed2.publicJwk.x, kid: ed2.kid, alg: 'EdDSA', use: 'sig' });
      expect(keys[2]).toEqual({ kty: 'EC', crv: 'P-256', x: es.publicJwk.x, y: es.publicJwk.y, kid: es.kid, alg: 'ES256', use: 'sig' });
      expect(JSON.stringify(ring.ring.jwks)).not.toContain(String(ed2.privateJwk.d));
    });

    it('lists the signing key once when it is also among the verify keys', async () => {
      const ring = await setup(edEnv(ed, [ed]));
      expect(ring.ring.jwks.keys.map((key) => key.kid)).toEqual([ed.kid]);
    });

    it('publishes an empty JWKS under HS256, and refuses JWT_VERIFY_KEYS there', async () => {
      const ring = await setup({ JWT_ALGORITHM: 'HS256', JWT_SECRET: generateHmacSecret() });
      expect(ring.ring.jwks).toEqual({ keys: [] });
      expect(() =>
        loadConfig(baseEnv({ JWT_ALGORITHM: 'HS256', JWT_SECRET: generateHmacSecret(), JWT_VERIFY_KEYS: JSON.stringify({ keys: [ed.publicJwk] }) })),
      ).toThrow(/JWT_VERIFY_KEYS/);
    });

    it('refuses at load a verify key that is neither Ed25519 nor P-256, or whose alg contradicts its type', async () => {
      const { publicKey } = await generateKeyPair('ES384', { extractable: true });
      const p384 = { ...(await exportJWK(publicKey)), kid: 'p384' };
      await expect(loadKeyRing(loadConfig(baseEnv({ ...edEnv(ed), JWT_VERIFY_KEYS: JSON.stringify({ keys: [p384] }) })))).rejects.toBeInstanceOf(
        ConfigError,
      );
      const lying = { ...es.publicJwk, alg: 'EdDSA' };
      await expect(loadKeyRing(loadConfig(baseEnv({ ...edEnv(ed), JWT_VERIFY_KEYS: JSON.stringify({ keys: [lying] }) })))).rejects.toBeInstanceOf(
        ConfigError,
      );
    });
  });
});
