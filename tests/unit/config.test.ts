import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';
import { baseEnv, newKeyPair, type Env, type SigningKeyPair } from './fixtures';

let ed: SigningKeyPair;
let es: SigningKeyPair;

beforeAll(async () => {
  [ed, es] = await Promise.all([newKeyPair('EdDSA'), newKeyPair('ES256')]);
});

/** A complete EdDSA environment with `overrides` on top. */
function env(overrides: Env = {}): Env {
  return baseEnv({ JWT_PRIVATE_KEY: JSON.stringify(ed.privateJwk), BCRYPT_COST: undefined, ...overrides });
}

/** The ConfigError loadConfig throws for `overrides` (fails the test if it does not throw one). */
function configErrorFor(overrides: Env): ConfigError {
  try {
    loadConfig(env(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(overrides)}`);
}

describe('loadConfig', () => {
  it('applies the defaults of the contract when only the required variables are set', () => {
    const config = loadConfig(env());
    expect(config.jwtAlgorithm).toBe('EdDSA');
    expect(config.accessTokenTtlSeconds).toBe(900);
    expect(config.refreshTokenTtlSeconds).toBe(604_800);
    expect(config.sessionMaxTtlSeconds).toBe(2_592_000);
    expect(config.refreshReuseIntervalSeconds).toBe(10);
    expect(config.maxSessionsPerUser).toBe(50);
    expect(config.bcryptCost).toBe(12);
    expect(config.rateLimits).toEqual({
      loginPerIp: { limit: 20, windowSeconds: 60 },
      loginFailuresPerAccountIp: { limit: 10, windowSeconds: 900 },
      loginFailuresPerAccount: { limit: 50, windowSeconds: 3600 },
      registerPerIp: { limit: 10, windowSeconds: 3600 },
      refreshPerSession: { limit: 30, windowSeconds: 60 },
      mailPerEmail: { limit: 3, windowSeconds: 3600 },
      mailPerIp: { limit: 20, windowSeconds: 3600 },
      mfaPerUser: { limit: 10, windowSeconds: 900 },
      passkeyLoginPerIp: { limit: 30, windowSeconds: 60 },
    });
    expect(config.jwtVerifyKeys).toEqual([]);
    expect(config.jwtSecret).toBeUndefined();
    expect(config.jwtPrivateKey).toMatchObject({ kid: ed.kid, kty: 'OKP', crv: 'Ed25519' });
  });

  it('reads every tunable from the environment', () => {
    const config = loadConfig(
      env({
        ACCESS_TOKEN_TTL_SECONDS: '60',
        REFRESH_TOKEN_TTL_SECONDS: '3600',
        SESSION_MAX_TTL_SECONDS: '86400',
        REFRESH_REUSE_INTERVAL_SECONDS: '0',
        MAX_SESSIONS_PER_USER: '3',
        BCRYPT_COST: '4',
        RATE_LIMIT_LOGIN_PER_IP: '5/30s',
        RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
        RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: '3/60s',
        RATE_LIMIT_REGISTER_PER_IP: ' 7/120s ',
        RATE_LIMIT_REFRESH_PER_SESSION: 'OFF',
      }),
    );
    expect(config).toMatchObject({
      accessTokenTtlSeconds: 60,
      refreshTokenTtlSeconds: 3600,
      sessionMaxTtlSeconds: 86_400,
      refreshReuseIntervalSeconds: 0,
      maxSessionsPerUser: 3,
      bcryptCost: 4,
      rateLimits: {
        loginPerIp: { limit: 5, windowSeconds: 30 },
        loginFailuresPerAccountIp: { limit: 3, windowSeconds: 60 },
        loginFailuresPerAccount: null,
        registerPerIp: { limit: 7, windowSeconds: 120 },
        refreshPerSession: null,
      },
    });
  });

  it.each(['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'JWT_PRIVATE_KEY', 'JWT_ISSUER', 'JWT_AUDIENCE'])(
    'refuses to start without %s and names it',
    (name) => {
      expect(configErrorFor({ [name]: undefined }).message).toContain(name);
      expect(configErrorFor({ [name]: '   ' }).message).toContain(name);
    },
  );

  describe('revocation (AUTHORIZER_REVOCATION)', () => {
    it('is strict by default, polling every 1000 ms with a 3000 ms bound, the window the token lifetime plus tolerance and skew margin', () => {
      expect(loadConfig(env()).revocation).toEqual({ mode: 'strict', pollMs: 1000, maxStalenessMs: 3000, windowMs: 965_000 });
    });

    it('reads stream mode and its tunables; the window follows ACCESS_TOKEN_TTL_SECONDS', () => {
      const config = loadConfig(env({ AUTHORIZER_REVOCATION: 'stream', REVOCATION_POLL_MS: '250', REVOCATION_MAX_STALENESS_MS: '750', ACCESS_TOKEN_TTL_SECONDS: '300' }));
      expect(config.revocation).toEqual({ mode: 'stream', pollMs: 250, maxStalenessMs: 750, windowMs: 365_000 });
    });

    it('refuses an unknown mode, a poll interval out of range, and a bound below the poll interval, naming the variable', () => {
      expect(configErrorFor({ AUTHORIZER_REVOCATION: 'lazy' }).message).toMatch(/AUTHORIZER_REVOCATION must be one of strict, stream/);
      expect(configErrorFor({ REVOCATION_POLL_MS: '10' }).message).toMatch(/REVOCATION_POLL_MS must be between 100 and 60000/);
      expect(configErrorFor({ REVOCATION_MAX_STALENESS_MS: 'soon' }).message).toMatch(/REVOCATION_MAX_STALENESS_MS must be a whole number/);
      expect(configErrorFor({ REVOCATION_POLL_MS: '2000', REVOCATION_MAX_STALENESS_MS: '1000' }).message).toMatch(/REVOCATION_MAX_STALENESS_MS \(1000\) must be at least REVOCATION_POLL_MS \(2000\)/);
    });
  });

  it('refuses a Redis URL that is not http(s)', () => {
    expect(configErrorFor({ UPSTASH_REDIS_REST_URL: 'redis://localhost:6379' }).message).toContain('UPSTASH_REDIS_REST_URL');
  });

  it('takes plain http for the Redis URL only on a loopback address (the token travels with every call)', () => {
    expect(configErrorFor({ UPSTASH_REDIS_REST_URL: 'http://redis.example.com' }).message).toContain('UPSTASH_REDIS_REST_URL');
    expect(configErrorFor({ UPSTASH_REDIS_REST_URL: 'http://10.0.0.5:8079' }).message).toContain('UPSTASH_REDIS_REST_URL');
    for (const url of ['https://eu1-x.upstash.io', 'http://127.0.0.1:8079', 'http://localhost:8079', 'http://[::1]:8079']) {
      expect(loadConfig(env({ UPSTASH_REDIS_REST_URL: url })).redisUrl).toBe(url);
    }
  });

  it('refuses an unknown JWT_ALGORITHM, including none', () => {
    for (const alg of ['RS256', 'none', 'hs256']) {
      expect(configErrorFor({ JWT_ALGORITHM: alg }).message).toContain('JWT_ALGORITHM');
    }
  });

  describe('HS256', () => {
    it('requires JWT_SECRET and names it', () => {
      expect(configErrorFor({ JWT_ALGORITHM: 'HS256', JWT_PRIVATE_KEY: undefined }).message).toContain('JWT_SECRET');
    });

    it('refuses a secret shorter than 32 bytes', () => {
      expect(configErrorFor({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(31) }).message).toContain('JWT_SECRET');
    });

    it('counts the secret in bytes, not characters', () => {
      // 16 characters but 31 bytes: refused; 16 two-byte characters = 32 bytes: accepted.
      expect(configErrorFor({ JWT_ALGORITHM: 'HS256', JWT_SECRET: `${'é'.repeat(15)}x` }).message).toContain('JWT_SECRET');
      expect(loadConfig(env({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'é'.repeat(16) })).jwtSecret).toHaveLength(32);
    });

    it('accepts a 32-byte secret and needs no private key', () => {
      const config = loadConfig(env({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 's'.repeat(32), JWT_PRIVATE_KEY: undefined }));
      expect(config.jwtAlgorithm).toBe('HS256');
      expect(config.jwtPrivateKey).toBeUndefined();
      expect(config.jwtSecret).toEqual(new TextEncoder().encode('s'.repeat(32)));
    });
  });

  describe('JWT_PRIVATE_KEY', () => {
    it('refuses a private JWK without a kid', () => {
      const { kid: _kid, ...withoutKid } = ed.privateJwk;
      expect(configErrorFor({ JWT_PRIVATE_KEY: JSON.stringify(withoutKid) }).message).toContain('JWT_PRIVATE_KEY');
      expect(configErrorFor({ JWT_PRIVATE_KEY: JSON.stringify({ ...ed.privateJwk, kid: '' }) }).message).toContain('JWT_PRIVATE_KEY');
    });

    it('refuses a public key where a private one is required', () => {
      expect(configErrorFor({ JWT_PRIVATE_KEY: JSON.stringify(ed.publicJwk) }).message).toContain('JWT_PRIVATE_KEY');
    });

    it('refuses a key whose type does not match JWT_ALGORITHM', () => {
      expect(configErrorFor({ JWT_PRIVATE_KEY: JSON.stringify(es.privateJwk) }).message).toContain('JWT_PRIVATE_KEY');
      expect(configErrorFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: JSON.stringify(ed.privateJwk) }).message).toContain(
        'JWT_PRIVATE_KEY',
      );
      const octKey = { kty: 'oct', k: 'c'.repeat(43), d: 'x', kid: 'oct-1' };
      expect(configErrorFor({ JWT_PRIVATE_KEY: JSON.stringify(octKey) }).message).toContain('JWT_PRIVATE_KEY');
    });

    it('accepts an ES256 key under JWT_ALGORITHM=ES256', () => {
      const config = loadConfig(env({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: JSON.stringify(es.privateJwk) }));
      expect(config.jwtPrivateKey).toMatchObject({ kid: es.kid, kty: 'EC', crv: 'P-256' });
    });

    it('refuses something that is not JSON, or not an object', () => {
      for (const value of ['not json', '[]', '"key"', 'null']) {
        expect(configErrorFor({ JWT_PRIVATE_KEY: value }).message).toContain('JWT_PRIVATE_KEY');
      }
    });
  });

  describe('JWT_VERIFY_KEYS', () => {
    it('accepts a JWK Set of public keys', () => {
      const config = loadConfig(env({ JWT_VERIFY_KEYS: JSON.stringify({ keys: [es.publicJwk] }) }));
      expect(config.jwtVerifyKeys).toEqual([es.publicJwk]);
    });

    it('refuses a private key (one with "d"): it would be published', () => {
      expect(configErrorFor({ JWT_VERIFY_KEYS: JSON.stringify({ keys: [es.privateJwk] }) }).message).toContain('JWT_VERIFY_KEYS');
    });

    it('refuses a symmetric (oct) key', () => {
      const oct = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'oct-1' };
      expect(configErrorFor({ JWT_VERIFY_KEYS: JSON.stringify({ keys: [oct] }) }).message).toContain('JWT_VERIFY_KEYS');
    });

    it('refuses a key without kid, and anything that is not a JWK Set', () => {
      const { kid: _kid, ...withoutKid } = es.publicJwk;
      for (const value of [JSON.stringify({ keys: [withoutKid] }), JSON.stringify([es.publicJwk]), '{"keys":{}}', 'nope']) {
        expect(configErrorFor({ JWT_VERIFY_KEYS: value }).message).toContain('JWT_VERIFY_KEYS');
      }
    });
  });

  describe('rate limits', () => {
    it('parses N/<seconds>s and off', () => {
      expect(loadConfig(env({ RATE_LIMIT_LOGIN_PER_IP: '20/60s' })).rateLimits.loginPerIp).toEqual({ limit: 20, windowSeconds: 60 });
      expect(loadConfig(env({ RATE_LIMIT_LOGIN_PER_IP: 'off' })).rateLimits.loginPerIp).toBeNull();
    });

    it.each(['20', '20/60', '20/60m', '0/60s', '20/0s', '-1/60s', '1.5/60s', '20 / 60s', 'on', 'none'])(
      'refuses %j and names the variable',
      (value) => {
        expect(configErrorFor({ RATE_LIMIT_LOGIN_PER_IP: value }).message).toContain('RATE_LIMIT_LOGIN_PER_IP');
      },
    );
  });

  describe('integer bounds', () => {
    it('accepts BCRYPT_COST from 4 to 15 and refuses values outside it', () => {
      expect(loadConfig(env({ BCRYPT_COST: '4' })).bcryptCost).toBe(4);
      expect(loadConfig(env({ BCRYPT_COST: '15' })).bcryptCost).toBe(15);
      for (const value of ['3', '16', '0', '-1', '12.5', '1e1', 'twelve', '0x0c']) {
        expect(configErrorFor({ BCRYPT_COST: value }).message).toContain('BCRYPT_COST');
      }
    });

    it.each([
      ['ACCESS_TOKEN_TTL_SECONDS', '0'],
      ['ACCESS_TOKEN_TTL_SECONDS', '86401'],
      ['REFRESH_TOKEN_TTL_SECONDS', '0'],
      ['SESSION_MAX_TTL_SECONDS', '0'],
      ['REFRESH_REUSE_INTERVAL_SECONDS', '-1'],
      ['REFRESH_REUSE_INTERVAL_SECONDS', '301'],
      ['MAX_SESSIONS_PER_USER', '0'],
      ['MAX_SESSIONS_PER_USER', 'ten'],
    ])('refuses %s=%s and names it', (name, value) => {
      expect(configErrorFor({ [name]: value }).message).toContain(name);
    });

    it('allows a grace interval of 0', () => {
      expect(loadConfig(env({ REFRESH_REUSE_INTERVAL_SECONDS: '0' })).refreshReuseIntervalSeconds).toBe(0);
    });
  });

  describe('the WebAuthn relying party (passkeys)', () => {
    it('takes the RP ID, a name and exact origins on the RP ID or a subdomain of it', () => {
      expect(loadConfig(env({ WEBAUTHN_RP_ID: 'Example.com', WEBAUTHN_RP_NAME: 'Acme', WEBAUTHN_ORIGINS: 'https://example.com, https://app.example.com' })).webauthn).toEqual({
        rpId: 'example.com',
        rpName: 'Acme',
        origins: ['https://example.com', 'https://app.example.com'],
      });
      expect(loadConfig(env({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: 'http://localhost:8080' })).webauthn?.origins).toEqual(['http://localhost:8080']);
      // A function that runs no ceremony needs none of it.
      expect(loadConfig(env({ WEBAUTHN_RP_ID: undefined, WEBAUTHN_ORIGINS: undefined }), { store: true }).webauthn).toBeUndefined();
    });

    it.each([
      [{ WEBAUTHN_RP_ID: undefined }, /WEBAUTHN_RP_ID is required/],
      [{ WEBAUTHN_RP_ID: 'https://example.com' }, /WEBAUTHN_RP_ID must be a domain name/],
      [{ WEBAUTHN_RP_ID: 'example.com:443' }, /WEBAUTHN_RP_ID must be a domain name/],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: undefined }, /WEBAUTHN_ORIGINS is required/],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'http://example.com' }, /https origins/],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.org' }, /not WEBAUTHN_RP_ID/],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://badexample.com' }, /not WEBAUTHN_RP_ID/],
      [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://*.example.com' }, /exact origins/],
    ])('refuses %o at start', (overrides, message) => {
      expect(configErrorFor(overrides).message).toMatch(message);
    });
  });
});

describe('security notices configuration', () => {
  it('is on by default, waits at most 1 s for a notice, and links nowhere until SECURITY_PAGE_URL is set', () => {
    const mail = loadConfig(env()).mail!;
    expect(mail).toMatchObject({ securityNotifications: true, noticeWaitMs: 1000, securityPageUrl: '' });
    expect(loadConfig(env({ SECURITY_NOTIFICATIONS: 'false' })).mail!.securityNotifications).toBe(false);
    expect(loadConfig(env({ SECURITY_PAGE_URL: 'https://app.example.com/security' })).mail!.securityPageUrl).toBe('https://app.example.com/security');
    expect(loadConfig(env({ SECURITY_PAGE_URL: 'http://localhost:8080/#security' })).mail!.securityPageUrl).toBe('http://localhost:8080/#security');
  });

  it.each([
    [{ SECURITY_NOTIFICATIONS: 'maybe' }, 'SECURITY_NOTIFICATIONS'],
    [{ SECURITY_PAGE_URL: 'http://app.example.com/security' }, 'SECURITY_PAGE_URL'],
    [{ SECURITY_PAGE_URL: 'javascript:alert(1)' }, 'SECURITY_PAGE_URL'],
    [{ SECURITY_NOTICE_WAIT_MS: '60000' }, 'SECURITY_NOTICE_WAIT_MS'],
  ])('refuses %j, naming the variable', (overrides, name) => {
    expect(configErrorFor(overrides).message).toContain(name);
  });
});
