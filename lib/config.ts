import { ConfigError } from './errors';
import { CLOCK_TOLERANCE_SECONDS } from './tokens/access-token';
import { deriveKey, deriveRefreshTokenKey } from './tokens/refresh-token';

export type JwtAlgorithm = 'EdDSA' | 'ES256' | 'HS256';

/** `N/<seconds>s` parsed, or `null` for `off`. */
export type RateLimit = { limit: number; windowSeconds: number } | null;

/**
 * What one function needs of the secrets (least privilege: each Lambda gets only these
 * variables, serverless.yml, and loads nothing else):
 * - `store`: Redis (UPSTASH_REDIS_REST_URL/TOKEN);
 * - `sign`: signs access tokens and mints refresh tokens (JWT_PRIVATE_KEY, or JWT_SECRET under
 *   HS256, and AUTH_SECRET);
 * - `verify`: verifies access tokens with public keys only (JWT_PUBLIC_KEY, JWT_VERIFY_KEYS;
 *   JWT_SECRET under HS256, where verifying needs the shared secret);
 * - `publish`: serves the public keys (JWT_PUBLIC_KEY, JWT_VERIFY_KEYS; nothing under HS256);
 * - `mail`: sends mail (SMTP_URL, or SES with the function's role; MAIL_FROM and the link templates);
 * - `webauthn`: runs passkey ceremonies (WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS).
 */
export interface ConfigNeeds {
  store?: boolean;
  sign?: boolean;
  verify?: boolean;
  publish?: boolean;
  mail?: boolean;
  webauthn?: boolean;
}

/** Everything: lib/ used in-process (tests, the benchmark, scripts). */
export const ALL_NEEDS: Required<ConfigNeeds> = { store: true, sign: true, verify: true, publish: true, mail: true, webauthn: true };

export interface MailConfig {
  from: string;
  /** Unset: Amazon SES with the function's IAM role. */
  smtpUrl: string | undefined;
  timeoutMs: number;
  /** Link templates with `{token}`. */
  emailVerifyUrl: string;
  passwordResetUrl: string;
  /** SECURITY_NOTIFICATIONS (default on): security notices by mail (lib/security/notices.ts). */
  securityNotifications: boolean;
  /** SECURITY_PAGE_URL: the app's security page, linked from every notice ('' = no link). */
  securityPageUrl: string;
  /** SECURITY_NOTICE_WAIT_MS: how long a request waits for its notice to go out before it answers anyway. */
  noticeWaitMs: number;
}

/** The WebAuthn relying party (SPEC "Passkeys"). */
export interface WebAuthnConfig {
  /** The RP ID: a registrable domain that every origin's host is, or ends with. */
  rpId: string;
  rpName: string;
  /** Exact origins a ceremony may come from. */
  origins: string[];
}

export interface Config {
  /** What this function loaded; the fields of the other needs are empty. */
  needs: Required<ConfigNeeds>;
  /** '' unless `store`. */
  redisUrl: string;
  redisToken: string;
  /** Prefix of every Redis key (lets tests and several stages share one database). */
  redisKeyPrefix: string;
  /** Per-request timeout of a Redis HTTP call, in milliseconds. */
  redisTimeoutMs: number;
  jwtAlgorithm: JwtAlgorithm;
  /** Private JWK (EdDSA/ES256) as parsed JSON; only with `sign`, never under HS256. */
  jwtPrivateKey: Record<string, unknown> | undefined;
  /**
   * The public JWK of the current signing key (JWT_PUBLIC_KEY), for functions that verify or
   * publish without the private key; with `sign` it is derived from the private key instead.
   */
  jwtPublicKey: Record<string, unknown> | undefined;
  /** Shared secret bytes (HS256, with `sign` or `verify`); undefined otherwise. */
  jwtSecret: Uint8Array | undefined;
  /**
   * MAC keys of refresh tokens, derived (HKDF) from AUTH_SECRET, then from AUTH_SECRET_PREVIOUS
   * during a rotation: new tokens use the first, every one verifies. Only with `sign`; never in
   * Redis. Empty otherwise.
   */
  refreshTokenKeys: Buffer[];
  /** Keys of the known-device tags of login (HKDF, another label), in the same order. */
  deviceTagKeys: Buffer[];
  /** Keys that seal TOTP secrets in Redis (AES-256-GCM; HKDF, another label), in the same order. */
  totpSealKeys: Buffer[];
  /** Keys the made-up credential ids of a passkey sign-in for an address without passkeys come from (current first). */
  passkeyDecoyKeys: Buffer[];
  /** Issuer shown by authenticator apps (the otpauth URI's `issuer`). */
  totpIssuer: string;
  /** Sudo mode: a security change needs a second factor at most this old (users with MFA on). */
  stepUpMaxAgeSeconds: number;
  /** Extra public JWKs still accepted for verification (rotation). */
  jwtVerifyKeys: Record<string, unknown>[];
  jwtIssuer: string;
  jwtAudience: string;
  /** RFC 9068 `client_id` claim of every access token. */
  jwtClientId: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  sessionMaxTtlSeconds: number;
  refreshReuseIntervalSeconds: number;
  maxSessionsPerUser: number;
  bcryptCost: number;
  rateLimits: {
    loginPerIp: RateLimit;
    loginFailuresPerAccountIp: RateLimit;
    loginFailuresPerAccount: RateLimit;
    registerPerIp: RateLimit;
    refreshPerSession: RateLimit;
    mailPerEmail: RateLimit;
    mailPerIp: RateLimit;
    mfaPerUser: RateLimit;
    /** Passkey sign-in verifications (and their options) per client IP. */
    passkeyLoginPerIp: RateLimit;
  };
  /** Only with `mail`. */
  mail: MailConfig | undefined;
  /** Only with `webauthn`. */
  webauthn: WebAuthnConfig | undefined;
  emailVerifyTtlSeconds: number;
  passwordResetTtlSeconds: number;
  /** Login of an unverified account answers `email_not_verified` after a correct password. */
  requireVerifiedEmail: boolean;
  /**
   * Forgot and resend answer no earlier than this after they started, mail or no mail, so
   * their timing does not tell a known address from an unknown one (SPEC); a mail still
   * going out then is left to finish on its own.
   */
  mailResponseFloorMs: number;
  /** Origins allowed by CORS (with credentials); empty = CORS off (no CORS headers at all). */
  corsAllowedOrigins: string[];
  /** Where login puts the refresh token when the client does not say: body or cookie. */
  defaultRefreshTransport: 'body' | 'cookie';
  /**
   * AUTHORIZER_REVOCATION: `strict` (one session read per decision) or `stream` (the authorizer
   * follows the revocation stream and decides from memory; every revoking function appends to
   * the stream first). A setting, not a secret: every function gets it (serverless.yml &settings).
   */
  revocation: RevocationSettings;
}

export interface RevocationSettings {
  mode: 'strict' | 'stream';
  /** REVOCATION_POLL_MS: a stream-mode authorizer reads the stream at most this often. */
  pollMs: number;
  /** REVOCATION_MAX_STALENESS_MS: past this without a successful poll, it denies. */
  maxStalenessMs: number;
  /**
   * How long a revocation stays in the stream and in the authorizers' memory: the access
   * token lifetime, plus the verification's clock tolerance, plus a margin for clock skew
   * between the functions and Redis (an access token is accepted at most that long after its
   * session was revoked, so an older entry can no longer matter).
   */
  windowMs: number;
}

/** What {@link RevocationSettings.windowMs} adds to the access token lifetime, for clock skew between machines. */
export const REVOCATION_SKEW_MARGIN_MS = 60_000;


type Env = Record<string, string | undefined>;

/**
 * Reads and validates the configuration once. Nothing else in the project reads
 * `process.env`. Throws {@link ConfigError} naming the variable on anything missing,
 * malformed or unsafe (a short HS256 secret, a private JWK without `kid`).
 */
export function loadConfig(env: Env = process.env, wanted: ConfigNeeds = ALL_NEEDS): Config {
  const needs = { store: false, sign: false, verify: false, publish: false, mail: false, webauthn: false, ...wanted };
  const jwtAlgorithm = oneOf(env, 'JWT_ALGORITHM', ['EdDSA', 'ES256', 'HS256'] as const, 'EdDSA');
  const accessTokenTtlSeconds = integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 1, 86_400);
  const refreshTokenTtlSeconds = integer(env, 'REFRESH_TOKEN_TTL_SECONDS', 604_800, 1, 31_536_000);
  const sessionMaxTtlSeconds = integer(env, 'SESSION_MAX_TTL_SECONDS', 2_592_000, 1, 31_536_000);

  const asymmetric = jwtAlgorithm !== 'HS256';
  const publicKeys = asymmetric && !needs.sign && (needs.verify || needs.publish);
  return {
    needs,
    redisUrl: needs.store ? url(env, 'UPSTASH_REDIS_REST_URL') : '',
    redisToken: needs.store ? required(env, 'UPSTASH_REDIS_REST_TOKEN') : '',
    redisKeyPrefix: keyPrefix(env, 'REDIS_KEY_PREFIX'),
    // Capped so the authorizer's fail-closed answer stays within 3 s, whatever is configured.
    redisTimeoutMs: integer(env, 'REDIS_TIMEOUT_MS', 1000, 50, 2500),
    jwtAlgorithm,
    jwtPrivateKey: asymmetric && needs.sign ? privateJwk(env, jwtAlgorithm) : undefined,
    jwtPublicKey: publicKeys ? publicJwk(env, jwtAlgorithm) : undefined,
    jwtSecret: !asymmetric && (needs.sign || needs.verify) ? secret(env, 'JWT_SECRET') : undefined,
    ...signingDerivedKeys(env, needs.sign),
    jwtVerifyKeys: needs.sign || needs.verify || needs.publish ? verifyKeys(env, jwtAlgorithm) : [],
    jwtIssuer: required(env, 'JWT_ISSUER'),
    jwtAudience: required(env, 'JWT_AUDIENCE'),
    jwtClientId: env.JWT_CLIENT_ID?.trim() || 'app',
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    sessionMaxTtlSeconds,
    refreshReuseIntervalSeconds: integer(env, 'REFRESH_REUSE_INTERVAL_SECONDS', 10, 0, 300),
    maxSessionsPerUser: integer(env, 'MAX_SESSIONS_PER_USER', 50, 1, 10_000),
    // bcrypt below 10 is too cheap to slow down offline guessing; 4..9 only for tests.
    bcryptCost: integer(env, 'BCRYPT_COST', 12, 4, 15),
    rateLimits: {
      loginPerIp: rateLimit(env, 'RATE_LIMIT_LOGIN_PER_IP', '20/60s'),
      loginFailuresPerAccountIp: rateLimit(env, 'RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP', '10/900s'),
      loginFailuresPerAccount: rateLimit(env, 'RATE_LIMIT_LOGIN_PER_ACCOUNT', '50/3600s'),
      registerPerIp: rateLimit(env, 'RATE_LIMIT_REGISTER_PER_IP', '10/3600s'),
      refreshPerSession: rateLimit(env, 'RATE_LIMIT_REFRESH_PER_SESSION', '30/60s'),
      mailPerEmail: rateLimit(env, 'RATE_LIMIT_MAIL_PER_EMAIL', '3/3600s'),
      mailPerIp: rateLimit(env, 'RATE_LIMIT_MAIL_PER_IP', '20/3600s'),
      mfaPerUser: rateLimit(env, 'RATE_LIMIT_MFA_PER_USER', '10/900s'),
      passkeyLoginPerIp: rateLimit(env, 'RATE_LIMIT_PASSKEY_LOGIN_PER_IP', '30/60s'),
    },
    mail: needs.mail ? mailConfig(env) : undefined,
    webauthn: needs.webauthn ? webAuthnConfig(env) : undefined,
    emailVerifyTtlSeconds: integer(env, 'EMAIL_VERIFY_TTL_SECONDS', 86_400, 60, 2_592_000),
    passwordResetTtlSeconds: integer(env, 'PASSWORD_RESET_TTL_SECONDS', 1800, 60, 86_400),
    requireVerifiedEmail: boolean(env, 'REQUIRE_VERIFIED_EMAIL', false),
    mailResponseFloorMs: integer(env, 'MAIL_RESPONSE_FLOOR_MS', 400, 0, 5000),
    totpIssuer: env.TOTP_ISSUER?.trim() || 'serverless-auth',
    stepUpMaxAgeSeconds: integer(env, 'STEP_UP_MAX_AGE_SECONDS', 900, 30, 86_400),
    corsAllowedOrigins: origins(env, 'CORS_ALLOWED_ORIGINS'),
    defaultRefreshTransport: oneOf(env, 'REFRESH_TOKEN_TRANSPORT', ['body', 'cookie'] as const, 'body'),
    revocation: revocationSettings(env, accessTokenTtlSeconds),
  };
}

function revocationSettings(env: Env, accessTokenTtlSeconds: number): RevocationSettings {
  const mode = oneOf(env, 'AUTHORIZER_REVOCATION', ['strict', 'stream'] as const, 'strict');
  const pollMs = integer(env, 'REVOCATION_POLL_MS', 1000, 100, 60_000);
  const maxStalenessMs = integer(env, 'REVOCATION_MAX_STALENESS_MS', 3000, 200, 300_000);
  // A bound below the poll interval would deny between every two polls.
  if (maxStalenessMs < pollMs) {
    throw new ConfigError(`REVOCATION_MAX_STALENESS_MS (${maxStalenessMs}) must be at least REVOCATION_POLL_MS (${pollMs}).`);
  }
  return { mode, pollMs, maxStalenessMs, windowMs: (accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000 + REVOCATION_SKEW_MARGIN_MS };
}

/**
 * The server-held keys, each derived per purpose (HKDF) from AUTH_SECRET, and from
 * AUTH_SECRET_PREVIOUS while a rotation is under way (accepted, never used for new values).
 */
function signingDerivedKeys(env: Env, sign: boolean): Pick<Config, 'refreshTokenKeys' | 'deviceTagKeys' | 'totpSealKeys' | 'passkeyDecoyKeys'> {
  if (!sign) return { refreshTokenKeys: [], deviceTagKeys: [], totpSealKeys: [], passkeyDecoyKeys: [] };
  const secrets = [secret(env, 'AUTH_SECRET'), ...(env.AUTH_SECRET_PREVIOUS?.trim() ? [secret(env, 'AUTH_SECRET_PREVIOUS')] : [])];
  return {
    refreshTokenKeys: secrets.map((raw) => deriveRefreshTokenKey(raw)),
    deviceTagKeys: secrets.map((raw) => deriveKey(raw, 'known-device-v1')),
    totpSealKeys: secrets.map((raw) => deriveKey(raw, 'totp-secret-v1')),
    passkeyDecoyKeys: secrets.map((raw) => deriveKey(raw, 'passkey-decoy-v1')),
  };
}

function mailConfig(env: Env): MailConfig {
  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (smtpUrl && !/^smtps?:\/\/[^\s]+$/.test(smtpUrl)) throw new ConfigError(`SMTP_URL must be smtp://host:port or smtps://host:port, got "${smtpUrl}".`);
  const from = required(env, 'MAIL_FROM');
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(from) && !/^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(from)) {
    throw new ConfigError(`MAIL_FROM must be an address (or "Name <address>"), got "${from}".`);
  }
  return {
    from,
    smtpUrl,
    timeoutMs: integer(env, 'MAIL_TIMEOUT_MS', 3000, 100, 10_000),
    emailVerifyUrl: linkTemplate(env, 'EMAIL_VERIFY_URL'),
    passwordResetUrl: linkTemplate(env, 'PASSWORD_RESET_URL'),
    securityNotifications: boolean(env, 'SECURITY_NOTIFICATIONS', true),
    securityPageUrl: pageUrl(env, 'SECURITY_PAGE_URL'),
    noticeWaitMs: integer(env, 'SECURITY_NOTICE_WAIT_MS', 1000, 0, 5000),
  };
}

/**
 * The relying party, checked so that a typo fails the function's start rather than every
 * ceremony: each origin is exact, https (plain http only for loopback), and its host is the
 * RP ID or a subdomain of it (WebAuthn's rule; a browser refuses anything else).
 */
function webAuthnConfig(env: Env): WebAuthnConfig {
  const rpId = required(env, 'WEBAUTHN_RP_ID').toLowerCase();
  if (!/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(rpId)) {
    throw new ConfigError(`WEBAUTHN_RP_ID must be a domain name like example.com (no scheme, port or path), got "${rpId}".`);
  }
  const list = origins(env, 'WEBAUTHN_ORIGINS');
  if (list.length === 0) throw new ConfigError('WEBAUTHN_ORIGINS is required but not set.');
  for (const origin of list) {
    const { protocol, hostname } = new URL(origin);
    const loopback = hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
    if (protocol !== 'https:' && !loopback) throw new ConfigError(`WEBAUTHN_ORIGINS must be https origins (plain http only for localhost), got "${origin}".`);
    if (hostname !== rpId && !hostname.endsWith(`.${rpId}`)) throw new ConfigError(`WEBAUTHN_ORIGINS: the host of "${origin}" is not WEBAUTHN_RP_ID (${rpId}) or a subdomain of it.`);
  }
  return { rpId, rpName: env.WEBAUTHN_RP_NAME?.trim() || 'serverless-auth', origins: list };
}

/** An optional https URL (plain http only for a loopback address); '' when unset. */
function pageUrl(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) return '';
  const loopback = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(value);
  if (!/^https:\/\/[^\s]+$/.test(value) && !loopback) throw new ConfigError(`${name} must be an https URL (plain http only for a loopback address), got "${value}".`);
  return value;
}

function linkTemplate(env: Env, name: string): string {
  const value = required(env, name);
  if (!value.includes('{token}')) throw new ConfigError(`${name} must contain {token}, got "${value}".`);
  const loopback = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(value);
  if (!/^https:\/\/[^\s]+$/.test(value) && !loopback) throw new ConfigError(`${name} must be an https URL (plain http only for a loopback address), got "${value}".`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}".`);
}

function keyPrefix(env: Env, name: string): string {
  const value = env[name] ?? 'auth:';
  // A brace would change the hash tag of every key (SPEC "Storage and scale").
  if (/[{}\s]/.test(value)) throw new ConfigError(`${name} must not contain braces or whitespace, got "${value}".`);
  return value;
}

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required but not set.`);
  return value;
}

function url(env: Env, name: string): string {
  const value = required(env, name);
  // The token travels in every request: plain http only to this machine (the dev gateway).
  const loopback = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(value);
  if (!/^https:\/\/[^\s]+$/.test(value) && !loopback) {
    throw new ConfigError(`${name} must be an https URL (plain http only for a loopback address), got "${value}".`);
  }
  return value.replace(/\/+$/, '');
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const match = allowed.find((candidate) => candidate === raw);
  if (!match) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}".`);
  return match;
}

function secret(env: Env, name: string): Uint8Array {
  const bytes = new TextEncoder().encode(required(env, name));
  // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
  if (bytes.length < 32) throw new ConfigError(`${name} must be at least 32 bytes long.`);
  return bytes;
}

function parseJson(env: Env, name: string): unknown {
  try {
    return JSON.parse(required(env, name));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${name} must be valid JSON.`);
  }
}

function privateJwk(env: Env, algorithm: 'EdDSA' | 'ES256'): Record<string, unknown> {
  const jwk = parseJson(env, 'JWT_PRIVATE_KEY');
  if (!isRecord(jwk) || typeof jwk.d !== 'string') {
    throw new ConfigError('JWT_PRIVATE_KEY must be a private JWK (a JSON object with "d").');
  }
  if (typeof jwk.kid !== 'string' || jwk.kid === '') {
    throw new ConfigError('JWT_PRIVATE_KEY must have a "kid" (key id) for rotation.');
  }
  const expected = algorithm === 'EdDSA' ? { kty: 'OKP', crv: 'Ed25519' } : { kty: 'EC', crv: 'P-256' };
  if (jwk.kty !== expected.kty || jwk.crv !== expected.crv) {
    throw new ConfigError(`JWT_PRIVATE_KEY must be a ${expected.kty}/${expected.crv} key for JWT_ALGORITHM=${algorithm}.`);
  }
  return jwk;
}

function publicJwk(env: Env, algorithm: 'EdDSA' | 'ES256'): Record<string, unknown> {
  const jwk = parseJson(env, 'JWT_PUBLIC_KEY');
  if (!isRecord(jwk) || typeof jwk.kid !== 'string' || jwk.kid === '') {
    throw new ConfigError('JWT_PUBLIC_KEY must be a public JWK with a "kid" (the public half of JWT_PRIVATE_KEY; npm run keys prints it).');
  }
  if ('d' in jwk) throw new ConfigError('JWT_PUBLIC_KEY must be a public key: this function must not receive the private one.');
  const expected = algorithm === 'EdDSA' ? { kty: 'OKP', crv: 'Ed25519' } : { kty: 'EC', crv: 'P-256' };
  if (jwk.kty !== expected.kty || jwk.crv !== expected.crv) {
    throw new ConfigError(`JWT_PUBLIC_KEY must be a ${expected.kty}/${expected.crv} key for JWT_ALGORITHM=${algorithm}.`);
  }
  return jwk;
}

function verifyKeys(env: Env, algorithm: JwtAlgorithm): Record<string, unknown>[] {
  const keys = jwkSet(env, 'JWT_VERIFY_KEYS');
  // A shared secret has no public half to publish; an HS256 deployment rotates by switching
  // JWT_SECRET (tokens of the old secret end within one access token lifetime).
  if (algorithm === 'HS256' && keys.length > 0) {
    throw new ConfigError('JWT_VERIFY_KEYS is for EdDSA/ES256 public keys; it cannot be used with JWT_ALGORITHM=HS256.');
  }
  return keys;
}

function jwkSet(env: Env, name: string): Record<string, unknown>[] {
  if (!env[name]?.trim()) return [];
  const set = parseJson(env, name);
  if (!isRecord(set) || !Array.isArray(set.keys)) throw new ConfigError(`${name} must be a JWK Set: {"keys": [...]}.`);
  return set.keys.map((key, index) => {
    if (!isRecord(key) || typeof key.kid !== 'string') throw new ConfigError(`${name} key #${index} must be a JWK with a "kid".`);
    // A verify-only key must be public: publishing a private or symmetric key would leak it.
    if ('d' in key || key.kty === 'oct') throw new ConfigError(`${name} key "${key.kid}" must be a public key.`);
    return key;
  });
}

function origins(env: Env, name: string): string[] {
  const list = (env[name] ?? '').split(',').map((origin) => origin.trim()).filter((origin) => origin !== '');
  for (const origin of list) {
    // Credentials are allowed for these origins, so a wildcard would hand any site the
    // user's session: exact origins only.
    if (!/^https?:\/\/[^/\s*]+$/.test(origin)) {
      throw new ConfigError(`${name} must list exact origins like https://app.example.com (no "*", no path), got "${origin}".`);
    }
  }
  return list;
}

function rateLimit(env: Env, name: string, fallback: string): RateLimit {
  const raw = (env[name]?.trim() || fallback).toLowerCase();
  if (raw === 'off') return null;
  const match = /^(\d+)\/(\d+)s$/.exec(raw);
  const limit = Number(match?.[1]);
  const windowSeconds = Number(match?.[2]);
  if (!match || limit < 1 || windowSeconds < 1) {
    throw new ConfigError(`${name} must be "N/<seconds>s" (e.g. 20/60s) or "off", got "${raw}".`);
  }
  return { limit, windowSeconds };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
