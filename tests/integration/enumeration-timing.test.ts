/**
 * Unknown email and wrong password must take about the same time (SPEC: "about the same
 * latency"), at a realistic bcrypt cost. The one timing assertion of the suite: medians of
 * alternating samples, after warm-up, within 25% of each other.
 */
import { describe, expect, it } from 'vitest';
import { forgotPassword } from '../../lib/account/password-reset';
import { login, register } from '../../lib/auth';
import { createTestDeps, testContext } from '../support/deps';
import { captureLogger, expectAuthError, median, PASSWORD, uniqueEmail } from './helpers';

const SAMPLES = 15;
const WARM_UP = 4;

describe('login latency', () => {
  it('is about the same for an unknown email and a wrong password (BCRYPT_COST=10)', { timeout: 60_000 }, async () => {
    const deps = await createTestDeps(
      {
        BCRYPT_COST: '10',
        RATE_LIMIT_LOGIN_PER_IP: 'off',
        RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
        RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: 'off',
        RATE_LIMIT_REGISTER_PER_IP: 'off',
      },
      { logger: captureLogger() },
    );
    const email = uniqueEmail('timing');
    await register(deps, { email, password: PASSWORD }, testContext());

    const attempt = async (kind: 'unknown' | 'wrong'): Promise<number> => {
      const input = kind === 'unknown' ? { email: uniqueEmail('nobody'), password: PASSWORD } : { email, password: `${PASSWORD}?` };
      const start = performance.now();
      await expectAuthError(login(deps, input, testContext()), 'invalid_credentials');
      return performance.now() - start;
    };

    // Warm-up: JIT, the HTTP keep-alive connection, EVALSHA loading, the dummy hash.
    for (let i = 0; i < WARM_UP; i++) {
      await attempt('unknown');
      await attempt('wrong');
    }
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Alternate (and swap the order each round) so drift and noise hit both sides alike.
    for (let i = 0; i < SAMPLES; i++) {
      if (i % 2) {
        unknown.push(await attempt('unknown'));
        wrong.push(await attempt('wrong'));
      } else {
        wrong.push(await attempt('wrong'));
        unknown.push(await attempt('unknown'));
      }
    }

    const [a, b] = [median(unknown), median(wrong)];
    // Both paths really run bcrypt at cost 10 (a malformed dummy hash would return at once).
    expect(Math.min(a, b)).toBeGreaterThan(10);
    expect(Math.abs(a - b) / Math.max(a, b), `median unknown ${a.toFixed(1)} ms vs wrong ${b.toFixed(1)} ms`).toBeLessThan(0.25);
  });
});

describe('password-reset request latency', () => {
  it('is about the same for an unknown and a known address (the mail goes out within the floor either way)', { timeout: 60_000 }, async () => {
    const deps = await createTestDeps(
      {
        BCRYPT_COST: '4',
        RATE_LIMIT_REGISTER_PER_IP: 'off',
        RATE_LIMIT_MAIL_PER_EMAIL: 'off',
        RATE_LIMIT_MAIL_PER_IP: 'off',
        MAIL_RESPONSE_FLOOR_MS: '150',
      },
      { logger: captureLogger() },
    );
    const email = uniqueEmail('forgot-timing');
    await register(deps, { email, password: PASSWORD }, testContext());
    const attempt = async (kind: 'unknown' | 'known'): Promise<number> => {
      const start = performance.now();
      await forgotPassword(deps, { email: kind === 'known' ? email : uniqueEmail('nobody') }, testContext());
      return performance.now() - start;
    };
    for (let i = 0; i < 3; i++) {
      await attempt('unknown');
      await attempt('known');
    }
    const unknown: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 11; i++) {
      if (i % 2) {
        unknown.push(await attempt('unknown'));
        known.push(await attempt('known'));
      } else {
        known.push(await attempt('known'));
        unknown.push(await attempt('unknown'));
      }
    }
    const [a, b] = [median(unknown), median(known)];
    expect(Math.min(a, b)).toBeGreaterThanOrEqual(145);
    expect(Math.abs(a - b) / Math.max(a, b), `median unknown ${a.toFixed(1)} ms vs known ${b.toFixed(1)} ms`).toBeLessThan(0.25);
  });
});
