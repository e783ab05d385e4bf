import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDeps, type Clock, type Deps } from '../../lib/deps';
import { generateSigningKey } from '../../dev/keys';
import { createMailer } from '../../lib/mail/mailer';
import type { AuthLogger } from '../../lib/log';

/** A clock tests move by hand: real time plus an offset, so Redis TTLs stay meaningful. */
export function createTestClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => (offset += ms) };
}

/** Tests that assert on log lines pass their own logger; the rest keep the output readable. */
export const silentLogger: AuthLogger = { event: () => undefined, error: () => undefined };

let signingKey: Promise<string> | undefined;
/** One refresh-token secret per test process, so deps made by one test accept each other's tokens. */
export const TEST_AUTH_SECRET = randomBytes(32).toString('base64url');

/**
 * Real deps for integration tests: the real @upstash/redis client against the gateway started
 * by tests/support/redis-setup.ts, a fresh random key prefix per call, and `env` on top.
 */
export async function createTestDeps(env: Record<string, string> = {}, overrides: Partial<Deps> = {}): Promise<Deps> {
  signingKey ??= generateSigningKey('EdDSA').then(({ privateJwk }) => JSON.stringify(privateJwk));
  return createDeps({
    logger: silentLogger,
    createMailer,
    ...overrides,
    env: {
      UPSTASH_REDIS_REST_URL: inject('gatewayUrl'),
      UPSTASH_REDIS_REST_TOKEN: inject('gatewayToken'),
      REDIS_KEY_PREFIX: `it-${randomBytes(6).toString('hex')}:`,
      JWT_PRIVATE_KEY: await signingKey,
      AUTH_SECRET: TEST_AUTH_SECRET,
      SMTP_URL: inject('smtpUrl'),
      MAIL_FROM: 'auth@example.test',
      EMAIL_VERIFY_URL: 'https://app.example.test/verify?token={token}',
      WEBAUTHN_RP_ID: 'app.example.test',
      WEBAUTHN_ORIGINS: 'https://app.example.test',
      PASSWORD_RESET_URL: 'https://app.example.test/reset?token={token}',
      MAIL_RESPONSE_FLOOR_MS: '0',
      JWT_ISSUER: 'https://auth.test',
      JWT_AUDIENCE: 'https://api.test',
      BCRYPT_COST: '4',
      ...env,
    },
  });
}

/** A request context as API Gateway would give it. */
export function testContext(ip = '203.0.113.7') {
  return { ip, userAgent: 'vitest', requestId: randomBytes(8).toString('hex') };
}
