/**
 * The account lifecycle by email against a real Redis and a real SMTP server (the suite's
 * maildev): every link is read from the inbox and followed. SPEC "Account lifecycle by email".
 */
import { describe, expect, inject, it } from 'vitest';
import { deleteAccount } from '../../lib/account/account-deletion';
import { requestEmailChange } from '../../lib/account/email-change';
import { requestVerification, resendVerification, verifyEmail } from '../../lib/account/email-verification';
import { changePassword } from '../../lib/account/password-change';
import { forgotPassword, resetPassword } from '../../lib/account/password-reset';
import { authorize, listMySessions, login, me, refresh, register, type TokenResponse } from '../../lib/auth';
import { ACCOUNT_TOKEN_PURPOSES } from '../../lib/store/keys';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import { inbox, tokenIn } from '../support/inbox';
import { captureLogger, expectAuthError, NO_LIMITS, outcomeOf, PASSWORD, uniqueEmail } from './helpers';

const mail = inbox(inject('mailWebUrl'));
const flatToRecordLocal = (flat: unknown): Record<string, string> => {
  const list = Array.isArray(flat) ? (flat as string[]) : [];
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) record[list[i]!] = list[i + 1]!;
  return record;
};
const NEW_PASSWORD = 'a brand new password';

async function setup(env: Record<string, string> = {}) {
  const clock = createTestClock();
  const logger = captureLogger();
  const deps = await createTestDeps({ ...NO_LIMITS, RATE_LIMIT_MAIL_PER_EMAIL: 'off', RATE_LIMIT_MAIL_PER_IP: 'off', ...env }, { clock, logger });
  return { deps, clock, logger };
}

const principalOf = (tokens: TokenResponse) => ({ userId: tokens.user.id, sessionId: tokens.sessionId });

describe('email verification', () => {
  it('register mails a link (text and HTML, the action, the expiry, no other secret); following it verifies the address, once', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('verify');
    const user = await register(deps, { email, password: PASSWORD }, testContext());
    expect(user.emailVerified).toBe(false);

    const [message] = await mail.waitFor(email);
    expect(message!.subject).toMatch(/confirm your email/i);
    expect(message!.text).toMatch(/1 day/);
    expect(message!.html).toMatch(/<a href="https:\/\/app\.example\.test\/verify\?token=/);
    const token = tokenIn(message!);
    expect(message!.html).toContain(encodeURIComponent(token));
    for (const part of [message!.text, message!.html]) {
      expect(part).not.toContain(PASSWORD);
      // One link, the only secret: no other URL, no other token-like string.
      expect(part.match(/https?:\/\//g)).toHaveLength(1);
      expect(part.match(/[A-Za-z0-9_-]{40,}/g)?.every((long) => token.includes(long) || encodeURIComponent(token).includes(long))).toBe(true);
    }

    const verified = await verifyEmail(deps, { token }, testContext());
    expect(verified).toEqual({ ...user, emailVerified: true });
    const tokens = await login(deps, { email, password: PASSWORD }, testContext());
    expect((await me(deps, principalOf(tokens))).user.emailVerified).toBe(true);
    await expectAuthError(verifyEmail(deps, { token }, testContext()), 'invalid_token');
  });

  it('a newer link supersedes the older one; garbage, another user’s id or an expired link changes nothing', async () => {
    const { deps, clock } = await setup();
    const email = uniqueEmail('supersede');
    await register(deps, { email, password: PASSWORD }, testContext());
    const tokens = await login(deps, { email, password: PASSWORD }, testContext());
    await requestVerification(deps, tokens.user.id, testContext());
    const [first, second] = await mail.waitFor(email, 2);
    await expectAuthError(verifyEmail(deps, { token: tokenIn(first!) }, testContext()), 'invalid_token');
    for (const token of ['', 'garbage', `${tokens.user.id}.${'A'.repeat(43)}`, tokenIn(second!).replace(/^[^.]+/, 'B'.repeat(22))]) {
      await expectAuthError(verifyEmail(deps, { token }, testContext()), 'invalid_token');
    }
    clock.advance(86_400_000 + 1000);
    await expectAuthError(verifyEmail(deps, { token: tokenIn(second!) }, testContext()), 'invalid_token');
    clock.advance(-(86_400_000 + 1000));
    expect((await verifyEmail(deps, { token: tokenIn(second!) }, testContext())).emailVerified).toBe(true);
  });

  it('of 10 concurrent uses of one link, exactly one succeeds', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('race');
    await register(deps, { email, password: PASSWORD }, testContext());
    const token = tokenIn((await mail.waitFor(email))[0]!);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => outcomeOf(verifyEmail(deps, { token }, testContext()))));
    expect(outcomes.filter((o) => o.code === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'invalid_token')).toHaveLength(9);
  });

  it('resend answers the same whatever the address, and mails only an unverified account', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('resend');
    await register(deps, { email, password: PASSWORD }, testContext());
    await mail.waitFor(email, 1);
    await expect(resendVerification(deps, { email }, testContext())).resolves.toBeUndefined();
    await mail.waitFor(email, 2);
    const nobody = uniqueEmail('nobody');
    await expect(resendVerification(deps, { email: nobody }, testContext())).resolves.toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await mail.to(nobody)).toEqual([]);
  });

  it('REQUIRE_VERIFIED_EMAIL=true: a correct password of an unverified account answers email_not_verified; verified, it signs in', async () => {
    const { deps } = await setup({ REQUIRE_VERIFIED_EMAIL: 'true' });
    const email = uniqueEmail('required');
    const user = await register(deps, { email, password: PASSWORD }, testContext());
    await expectAuthError(login(deps, { email, password: 'wrong password' }, testContext()), 'invalid_credentials');
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'email_not_verified');
    expect(await listMySessions(deps, { userId: user.id, sessionId: 'x' })).toEqual([]);
    await verifyEmail(deps, { token: tokenIn((await mail.waitFor(email))[0]!) }, testContext());
    expect((await login(deps, { email, password: PASSWORD }, testContext())).user.id).toBe(user.id);
  });

  it('REQUIRE_VERIFIED_EMAIL=false (the default): an unverified account signs in', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('optional');
    await register(deps, { email, password: PASSWORD }, testContext());
    expect((await login(deps, { email, password: PASSWORD }, testContext())).user.email).toBe(email);
  });
});

describe('forgotten password', () => {
  it('mails a reset link; the reset sets the new password, revokes every session and mails a notice; the link works once', async () => {
    const { deps, logger } = await setup();
    const email = uniqueEmail('reset');
    await register(deps, { email, password: PASSWORD }, testContext());
    const phone = await login(deps, { email, password: PASSWORD }, testContext());
    const laptop = await login(deps, { email, password: PASSWORD }, testContext());

    await forgotPassword(deps, { email }, testContext());
    const reset = (await mail.waitFor(email, 2))[1]!;
    expect(reset.subject).toMatch(/reset your password/i);
    expect(reset.text).toMatch(/30 minutes/);
    const token = tokenIn(reset);

    await resetPassword(deps, { token, password: NEW_PASSWORD }, testContext());
    for (const session of [phone, laptop]) {
      expect(await authorize(deps, session.accessToken)).toBeNull();
      await expectAuthError(refresh(deps, session.refreshToken, testContext()), 'invalid_token');
    }
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'invalid_credentials');
    expect((await login(deps, { email, password: NEW_PASSWORD }, testContext())).user.email).toBe(email);
    const notice = (await mail.waitFor(email, 3))[2]!;
    expect(notice.subject).toMatch(/password was changed/i);
    await expectAuthError(resetPassword(deps, { token, password: 'yet another password' }, testContext()), 'invalid_token');
    expect(logger.named('password_reset')).toHaveLength(1);
  });

  it('of 10 concurrent resets with one link, exactly one succeeds, and its password is the one set', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('reset-race');
    await register(deps, { email, password: PASSWORD }, testContext());
    await forgotPassword(deps, { email }, testContext());
    const token = tokenIn((await mail.waitFor(email, 2))[1]!);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => outcomeOf(resetPassword(deps, { token, password: `${NEW_PASSWORD} ${i}` }, testContext()))));
    const winners = outcomes.flatMap((o, i) => (o.code === 'ok' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((o) => o.code === 'invalid_token')).toHaveLength(9);
    expect((await login(deps, { email, password: `${NEW_PASSWORD} ${winners[0]}` }, testContext())).user.email).toBe(email);
  });

  it('a refused reset (weak password) leaves the link usable; an expired one is invalid', async () => {
    const { deps, clock } = await setup();
    const email = uniqueEmail('reset-keep');
    await register(deps, { email, password: PASSWORD }, testContext());
    await forgotPassword(deps, { email }, testContext());
    const token = tokenIn((await mail.waitFor(email, 2))[1]!);
    await expectAuthError(resetPassword(deps, { token, password: 'short' }, testContext()), 'invalid_request');
    clock.advance(1_801_000);
    await expectAuthError(resetPassword(deps, { token, password: NEW_PASSWORD }, testContext()), 'invalid_token');
    clock.advance(-1_801_000);
    await resetPassword(deps, { token, password: NEW_PASSWORD }, testContext());
  });

  it('answers an unknown address exactly as a known one, and mails nothing', async () => {
    const { deps } = await setup();
    const nobody = uniqueEmail('nobody');
    await expect(forgotPassword(deps, { email: nobody }, testContext())).resolves.toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await mail.to(nobody)).toEqual([]);
  });

  it('is limited per address and per IP, known or not (RATE_LIMIT_MAIL_*)', async () => {
    const { deps } = await setup({ RATE_LIMIT_MAIL_PER_EMAIL: '2/3600s', RATE_LIMIT_MAIL_PER_IP: '5/3600s' });
    const known = uniqueEmail('limited');
    await register(deps, { email: known, password: PASSWORD }, testContext());
    for (const email of [known, uniqueEmail('nobody')]) {
      const ip = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
      await forgotPassword(deps, { email }, testContext(ip));
      await forgotPassword(deps, { email }, testContext(ip));
      await expectAuthError(forgotPassword(deps, { email }, testContext(`${ip.slice(0, -1)}9`)), 'rate_limited');
    }
    const ip = '203.0.113.201';
    for (let i = 0; i < 5; i++) await forgotPassword(deps, { email: uniqueEmail('spread') }, testContext(ip));
    const limited = await expectAuthError(forgotPassword(deps, { email: uniqueEmail('spread') }, testContext(ip)), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });
});

describe('password change', () => {
  it('needs the current password; keeps the caller’s session, revokes the others, mails a notice', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('change');
    await register(deps, { email, password: PASSWORD }, testContext());
    const here = await login(deps, { email, password: PASSWORD }, testContext());
    const elsewhere = await login(deps, { email, password: PASSWORD }, testContext());

    await expectAuthError(changePassword(deps, principalOf(here), { currentPassword: 'wrong password', newPassword: NEW_PASSWORD }, testContext()), 'invalid_credentials');
    expect(await authorize(deps, elsewhere.accessToken)).not.toBeNull();
    await expectAuthError(changePassword(deps, principalOf(here), { currentPassword: PASSWORD, newPassword: 'short' }, testContext()), 'invalid_request');

    await changePassword(deps, principalOf(here), { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, testContext());
    expect(await authorize(deps, here.accessToken)).not.toBeNull();
    expect(await authorize(deps, elsewhere.accessToken)).toBeNull();
    expect((await listMySessions(deps, principalOf(here))).map((s) => s.id)).toEqual([here.sessionId]);
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'invalid_credentials');
    await login(deps, { email, password: NEW_PASSWORD }, testContext());
    const mails = await mail.waitFor(email, 2);
    expect(mails.at(-1)!.subject).toMatch(/password was changed/i);
  });
});

describe('email change', () => {
  it('mails the new address; its link moves the account (verified), the old address gets a notice and no longer signs in', async () => {
    const { deps } = await setup();
    const [oldEmail, newEmail] = [uniqueEmail('old'), uniqueEmail('new')];
    await register(deps, { email: oldEmail, password: PASSWORD }, testContext());
    const tokens = await login(deps, { email: oldEmail, password: PASSWORD }, testContext());

    await expectAuthError(requestEmailChange(deps, principalOf(tokens), { newEmail, password: 'wrong password' }, testContext()), 'invalid_credentials');
    await requestEmailChange(deps, principalOf(tokens), { newEmail, password: PASSWORD }, testContext());
    const confirm = (await mail.waitFor(newEmail))[0]!;
    expect(confirm.subject).toMatch(/new email/i);
    // Nothing moves before the link is used.
    expect((await login(deps, { email: oldEmail, password: PASSWORD }, testContext())).user.email).toBe(oldEmail);

    const moved = await verifyEmail(deps, { token: tokenIn(confirm) }, testContext());
    expect(moved).toMatchObject({ id: tokens.user.id, email: newEmail, emailVerified: true });
    await expectAuthError(login(deps, { email: oldEmail, password: PASSWORD }, testContext()), 'invalid_credentials');
    expect((await login(deps, { email: newEmail, password: PASSWORD }, testContext())).user).toEqual({ id: tokens.user.id, email: newEmail });
    expect((await mail.waitFor(oldEmail, 2)).at(-1)!.subject).toMatch(/email address was changed/i);
    // An index entry of the old address that a fault between the steps would leave behind
    // never signs in: the login's address must be the user record's.
    const oldIndex = await deps.redis.hgetall(deps.keys.emailIndex(newEmail));
    await deps.redis.hset(deps.keys.emailIndex(oldEmail), flatToRecordLocal(oldIndex));
    await expectAuthError(login(deps, { email: oldEmail, password: PASSWORD }, testContext()), 'invalid_credentials');
    await deps.redis.del(deps.keys.emailIndex(oldEmail));
    // The old address is free to register again.
    await register(deps, { email: oldEmail, password: PASSWORD }, testContext());
  });

  it('to an address of another account: the same 202, its owner is told, nothing changes', async () => {
    const { deps } = await setup();
    const [mine, theirs] = [uniqueEmail('mine'), uniqueEmail('theirs')];
    await register(deps, { email: mine, password: PASSWORD }, testContext());
    await register(deps, { email: theirs, password: PASSWORD }, testContext());
    const tokens = await login(deps, { email: mine, password: PASSWORD }, testContext());
    await expect(requestEmailChange(deps, principalOf(tokens), { newEmail: theirs, password: PASSWORD }, testContext())).resolves.toBeUndefined();
    expect((await mail.waitFor(theirs, 2)).at(-1)!.subject).toMatch(/tried to use your email/i);
    expect((await me(deps, principalOf(tokens))).user.email).toBe(mine);
  });
});

describe('account deletion', () => {
  it('needs the password; removes every key of the user, revokes every session; the email can register again', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('delete');
    await register(deps, { email, password: PASSWORD }, testContext());
    const a = await login(deps, { email, password: PASSWORD }, testContext());
    const b = await login(deps, { email, password: PASSWORD }, testContext());
    await forgotPassword(deps, { email }, testContext()); // a pending reset token too
    const userId = a.user.id;
    const userKeys = [
      deps.keys.emailIndex(email),
      deps.keys.user(userId),
      deps.keys.userSessions(userId),
      deps.keys.session(userId, a.sessionId),
      deps.keys.session(userId, b.sessionId),
      ...ACCOUNT_TOKEN_PURPOSES.map((purpose) => deps.keys.accountToken(userId, purpose)),
    ];
    const present = async () => (await Promise.all(userKeys.map(async (key) => ((await deps.redis.exists(key)) === 1 ? key : null)))).filter(Boolean);
    expect(await present()).toHaveLength(7); // all but the unused email-change token

    await expectAuthError(deleteAccount(deps, principalOf(a), { password: 'wrong password' }, testContext()), 'invalid_credentials');
    expect(await present()).toHaveLength(7);

    await deleteAccount(deps, principalOf(a), { password: PASSWORD }, testContext());
    expect(await present()).toEqual([]);
    if (inject('redisMode') === 'single') {
      // Nothing else of the user's slot is left either.
      const left = await deps.redis.keys(`${deps.config.redisKeyPrefix}*{${userId}}*`);
      expect(left).toEqual([]);
    }
    for (const session of [a, b]) expect(await authorize(deps, session.accessToken)).toBeNull();
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'invalid_credentials');
    const again = await register(deps, { email, password: PASSWORD }, testContext());
    expect(again.id).not.toBe(userId);
  });
});

describe('mail faults', () => {
  /** An SMTP endpoint that accepts connections and never says a word (a hung relay). */
  async function hungSmtp() {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return { url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); server.close(() => resolve()); }) };
  }

  for (const mode of ['down', 'hung'] as const) {
    it(`SMTP ${mode}: forgot and resend still answer within the usual time (and log it); verify/request and email change answer 503; nothing is consumed`, async () => {
      const hung = mode === 'hung' ? await hungSmtp() : undefined;
      try {
        const { deps: healthy } = await setup();
        const email = uniqueEmail(`smtp-${mode}`);
        await register(healthy, { email, password: PASSWORD }, testContext());
        const tokens = await login(healthy, { email, password: PASSWORD }, testContext());
        const { deps, logger } = await setup({
          REDIS_KEY_PREFIX: healthy.config.redisKeyPrefix,
          SMTP_URL: hung?.url ?? 'smtp://127.0.0.1:9',
          MAIL_TIMEOUT_MS: '500',
          MAIL_RESPONSE_FLOOR_MS: '300',
        });

        for (const ask of [() => forgotPassword(deps, { email }, testContext()), () => resendVerification(deps, { email }, testContext())]) {
          const started = performance.now();
          await expect(ask()).resolves.toBeUndefined();
          expect(performance.now() - started).toBeLessThan(1000);
        }
        await expect.poll(() => logger.named('mail_failed').length, { timeout: 3000 }).toBeGreaterThanOrEqual(2);

        const verifyAsk = await expectAuthError(requestVerification(deps, tokens.user.id, testContext()), 'service_unavailable');
        expect(verifyAsk.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        await expectAuthError(requestEmailChange(deps, principalOf(tokens), { newEmail: uniqueEmail('new'), password: PASSWORD }, testContext()), 'service_unavailable');
        // The account is as it was: the password and the address still sign in.
        expect((await login(healthy, { email, password: PASSWORD }, testContext())).user.email).toBe(email);
        // A notice that cannot go out never fails the request that caused it.
        await changePassword(deps, principalOf(tokens), { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, testContext());
        expect((await login(healthy, { email, password: NEW_PASSWORD }, testContext())).user.email).toBe(email);
      } finally {
        await hung?.close();
      }
    });
  }
});
