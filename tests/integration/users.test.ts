/**
 * Users against a real Redis: email normalization, atomic registration under concurrency,
 * what a user record holds, and credential checks that do not tell unknown emails from wrong
 * passwords nor truncate long passwords.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { login, register } from '../../lib/auth';
import { findUserById } from '../../lib/users/users';
import { randomIds, type Deps } from '../../lib/deps';
import { AuthError } from '../../lib/errors';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import { captureLogger, expectAuthError, flatToRecord, outcomeOf, PASSWORD, uniqueEmail } from './helpers';

let deps: Deps;
let logger: ReturnType<typeof captureLogger>;

beforeAll(async () => {
  logger = captureLogger();
  // Rate limits off: this file is about users, and its concurrent registrations share one IP.
  deps = await createTestDeps(
    { RATE_LIMIT_REGISTER_PER_IP: 'off', RATE_LIMIT_LOGIN_PER_IP: 'off', RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off' },
    { clock: createTestClock(), logger, ids: { ...randomIds, userId: () => madeUserIds[madeUserIds.push(randomIds.userId()) - 1]! } },
  );
});

/** Every user id registration made, so a test can look for the records of losing racers. */
const madeUserIds: string[] = [];

describe('registration', () => {
  it('stores the email trimmed and lower-cased, and logs in with any casing of it', async () => {
    const local = uniqueEmail('Mixed.Case');
    const user = await register(deps, { email: `  ${local.toUpperCase()}\t`, password: PASSWORD }, testContext());

    expect(user.email).toBe(local.toLowerCase());
    expect(user.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Number.isNaN(Date.parse(user.createdAt))).toBe(false);
    expect(await deps.redis.exists(deps.keys.emailIndex(local.toLowerCase()))).toBe(1);
    expect(await findUserById(deps, user.id)).toEqual(user);

    const tokens = await login(deps, { email: ` ${local} `, password: PASSWORD }, testContext());
    expect(tokens.user).toEqual({ id: user.id, email: local.toLowerCase() });
  });

  it('refuses a second registration of the same email in another casing', async () => {
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());
    await expectAuthError(register(deps, { email: ` ${email.toUpperCase()} `, password: PASSWORD }, testContext()), 'email_taken');
  });

  for (const concurrency of [2, 20]) {
    it(`of ${concurrency} concurrent registrations of one email, exactly one succeeds`, async () => {
      const email = uniqueEmail('race');
      madeUserIds.length = 0;
      const outcomes = await Promise.all(
        Array.from({ length: concurrency }, (_, i) =>
          outcomeOf(register(deps, { email: i % 2 ? email.toUpperCase() : email, password: `${PASSWORD} ${i}` }, testContext())),
        ),
      );
      const winners = outcomes.filter((o) => o.code === 'ok');
      expect(winners).toHaveLength(1);
      expect(outcomes.filter((o) => o.code === 'email_taken')).toHaveLength(concurrency - 1);

      // The one record is the winner's: its id, and its password (the others' do not log in).
      const record = flatToRecord(await deps.redis.hgetall(deps.keys.emailIndex(email)));
      expect(record.id).toBe(winners[0]!.value!.id);
      // The losers deleted the records they wrote first: only the winner is found by id.
      const found = await Promise.all(madeUserIds.splice(0).map((id) => findUserById(deps, id)));
      expect(found.filter((user) => user !== null).map((user) => user.id)).toEqual([winners[0]!.value!.id]);
      const logins = await Promise.all(
        Array.from({ length: concurrency }, (_, i) => outcomeOf(login(deps, { email, password: `${PASSWORD} ${i}` }, testContext()))),
      );
      expect(logins.filter((o) => o.code === 'ok')).toHaveLength(1);
      expect(logins.filter((o) => o.code === 'invalid_credentials')).toHaveLength(concurrency - 1);
    });
  }

  it('never stores fields the client sent beyond email and password', async () => {
    const email = uniqueEmail();
    const input = { email, password: PASSWORD, isAdmin: true, role: 'admin', id: 'chosen-by-client', pw: 'x', createdAt: '1970-01-01T00:00:00Z' };
    const user = await register(deps, input, testContext());
    expect(user.id).not.toBe('chosen-by-client');
    expect(user.createdAt).not.toBe('1970-01-01T00:00:00Z');

    // automaticDeserialization is off: HGETALL answers the flat [field, value, ...] array.
    const flat = await deps.redis.hgetall(deps.keys.user(user.id));
    expect(Array.isArray(flat)).toBe(true);
    const record = flatToRecord(flat);
    expect(record).toEqual({ id: user.id, email, created: user.createdAt });
    // The email index holds the id and the password, as a bcrypt hash only.
    const indexFlat = await deps.redis.hgetall(deps.keys.emailIndex(email));
    const index = flatToRecord(indexFlat);
    expect(Object.keys(index).sort()).toEqual(['id', 'pw']);
    expect(index.id).toBe(user.id);
    expect(index.pw).toMatch(/^\$2[ab]\$04\$/);
    for (const stored of [flat, indexFlat]) {
      expect(JSON.stringify(stored)).not.toContain(PASSWORD);
      expect(JSON.stringify(stored)).not.toContain('admin');
    }
  });

  it('refuses a malformed email or a short password with invalid_request, storing nothing', async () => {
    await expectAuthError(register(deps, { email: 'not-an-email', password: PASSWORD }, testContext()), 'invalid_request');
    const email = uniqueEmail();
    await expectAuthError(register(deps, { email, password: 'short' }, testContext()), 'invalid_request');
    await expectAuthError(register(deps, { email, password: 12345678 }, testContext()), 'invalid_request');
    expect(await deps.redis.exists(deps.keys.emailIndex(email))).toBe(0);
  });
});

describe('login credentials', () => {
  it('answers a wrong password and an unknown email with the same error', async () => {
    const email = uniqueEmail();
    await register(deps, { email, password: PASSWORD }, testContext());

    const wrongPassword = await expectAuthError(login(deps, { email, password: `${PASSWORD}!` }, testContext()), 'invalid_credentials');
    const unknownEmail = await expectAuthError(login(deps, { email: uniqueEmail('nobody'), password: PASSWORD }, testContext()), 'invalid_credentials');
    // Same status and body for both (the body is code + message).
    expect(unknownEmail.code).toBe(wrongPassword.code);
    expect(unknownEmail.message).toBe(wrongPassword.message);
    expect(unknownEmail.retryAfterSeconds).toBe(wrongPassword.retryAfterSeconds);

    const failures = logger.named('login_failed').slice(-2);
    expect(failures.map((e) => e.reason)).toEqual(['invalid_credentials', 'invalid_credentials']);
    // Neither failure reveals which case it was, not even in the user id field.
    expect(failures.map((e) => e.userId)).toEqual([undefined, undefined]);
  });

  it('does not truncate passwords at 72 bytes', async () => {
    const email = uniqueEmail('long');
    const registered = `${'A'.repeat(72)}B`;
    await register(deps, { email, password: registered }, testContext());

    await expectAuthError(login(deps, { email, password: `${'A'.repeat(72)}C` }, testContext()), 'invalid_credentials');
    await expectAuthError(login(deps, { email, password: 'A'.repeat(72) }, testContext()), 'invalid_credentials');
    const tokens = await login(deps, { email, password: registered }, testContext());
    expect(tokens.user.email).toBe(email);
  });

  it('compares passwords in their NFKC form', async () => {
    const email = uniqueEmail('nfkc');
    // "é" composed (U+00E9) at registration, decomposed (e + U+0301) at login; full-width digits.
    await register(deps, { email, password: 'caf\u00e9-pass-\uff11\uff12' }, testContext());
    const tokens = await login(deps, { email, password: 'cafe\u0301-pass-12' }, testContext());
    expect(tokens.user.email).toBe(email);
  });

  it('refuses non-string credentials with invalid_request, not invalid_credentials', async () => {
    const error = await login(deps, { email: uniqueEmail(), password: { $ne: '' } }, testContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('invalid_request');
  });
});

describe('a raised BCRYPT_COST', () => {
  it('re-hashes a stored password at the new cost on the next successful login', async () => {
    const before = await createTestDeps({ BCRYPT_COST: '4' });
    const email = uniqueEmail();
    await register(before, { email, password: PASSWORD }, testContext());
    const after = await createTestDeps({ BCRYPT_COST: '5', REDIS_KEY_PREFIX: before.config.redisKeyPrefix });
    const storedCost = async () => Number(String(await after.redis.hget(after.keys.emailIndex(email), 'pw')).split('$')[2]);
    expect(await storedCost()).toBe(4);
    await expectAuthError(login(after, { email, password: 'wrong password' }, testContext()), 'invalid_credentials');
    expect(await storedCost()).toBe(4); // never on a failed login
    await login(after, { email, password: PASSWORD }, testContext());
    expect(await storedCost()).toBe(5);
    await login(after, { email, password: PASSWORD }, testContext()); // the new hash works
  });
});
