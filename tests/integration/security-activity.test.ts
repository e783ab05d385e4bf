/**
 * A user's own security activity, the admin actions and the security notices, against a real
 * Redis (the suite's gateway) and a real SMTP server (the suite's maildev). SPEC "Security
 * activity and notifications" and "Administration".
 */
import { describe, expect, inject, it } from 'vitest';
import { deleteUser, disableUser, enableUser, getUserByEmail, getUserById, listUserSessions, revokeUserSessions } from '../../lib/admin/admin';
import { changePassword } from '../../lib/account/password-change';
import { forgotPassword, resetPassword } from '../../lib/account/password-reset';
import { confirmTotp, disableTotp, enrollTotp, verifyMfa, type MfaChallenge } from '../../lib/mfa/mfa';
import { authorize, login, logoutAll, refresh, register, revokeMySession, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { listSecurityEvents, MAX_SECURITY_EVENTS, recordSecurityEvent, securityEventsTtlMs } from '../../lib/security/events';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import { inbox, tokenIn } from '../support/inbox';
import { stepAt, totpCode } from '../support/totp';
import { captureLogger, expectAuthError, NO_LIMITS, PASSWORD, registerAndLogin, uniqueEmail } from './helpers';

const mail = inbox(inject('mailWebUrl'));
const NEW_PASSWORD = 'a brand new password';
const principalOf = (tokens: TokenResponse) => ({ userId: tokens.user.id, sessionId: tokens.sessionId });

async function setup(env: Record<string, string> = {}) {
  const logger = captureLogger();
  const deps = await createTestDeps({ ...NO_LIMITS, REFRESH_REUSE_INTERVAL_SECONDS: '0', SECURITY_PAGE_URL: 'https://app.example.test/security', ...env }, { clock: createTestClock(), logger });
  return { deps, logger };
}

async function keysOf(deps: Deps, userId: string): Promise<string[]> {
  return deps.redis.keys(`${deps.config.redisKeyPrefix}*{${userId}}*`);
}

describe('security events', () => {
  it('records logins (ok and failed), reuse, revocations and a password change, newest first, with time, IP, user agent and device; no secret in them', async () => {
    const { deps } = await setup();
    const { email, tokens } = await registerAndLogin(deps, { deviceName: 'Laptop' });
    await expectAuthError(login(deps, { email, password: 'wrong password', deviceName: 'Evil\u202e\u0000PC' }, testContext('198.51.100.1')), 'invalid_credentials');
    const second = await login(deps, { email, password: PASSWORD, deviceName: 'Phone' }, { ip: '198.51.100.2', userAgent: 'Phone UA', requestId: 'r' });
    const rotated = await refresh(deps, second.refreshToken, testContext());
    await expectAuthError(refresh(deps, second.refreshToken, testContext('198.51.100.3')), 'token_reused');
    const third = await login(deps, { email, password: PASSWORD }, testContext());
    await revokeMySession(deps, principalOf(tokens), third.sessionId, testContext());
    await changePassword(deps, principalOf(tokens), { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, testContext());
    await logoutAll(deps, principalOf(tokens), testContext());

    const events = await listSecurityEvents(deps, tokens.user.id);
    expect(events.map((event) => event.type)).toEqual([
      'sessions_revoked', 'password_changed', 'session_revoked', 'login_ok', 'refresh_token_reused', 'login_ok', 'login_failed', 'login_ok',
    ]);
    const times = events.map((event) => Date.parse(event.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(events[7]).toEqual({ type: 'login_ok', at: expect.any(String), ip: '203.0.113.7', userAgent: 'vitest', deviceName: 'Laptop', sessionId: tokens.sessionId });
    expect(events[6]).toMatchObject({ type: 'login_failed', ip: '198.51.100.1', deviceName: 'EvilPC' });
    expect(events[6]!.sessionId).toBeUndefined();
    expect(events[5]).toMatchObject({ type: 'login_ok', ip: '198.51.100.2', userAgent: 'Phone UA', deviceName: 'Phone', sessionId: second.sessionId });
    expect(events[4]).toMatchObject({ type: 'refresh_token_reused', ip: '198.51.100.3', sessionId: second.sessionId });
    expect(events[2]).toMatchObject({ type: 'session_revoked', sessionId: third.sessionId });

    const stored = JSON.stringify(await deps.redis.lrange(deps.keys.securityEvents(tokens.user.id), 0, -1));
    for (const secret of [PASSWORD, NEW_PASSWORD, tokens.refreshToken, tokens.accessToken, second.refreshToken, rotated.refreshToken, rotated.accessToken]) {
      expect(stored).not.toContain(secret);
    }
    // No hash or token-like string (session ids are 22 characters; a hash or MAC is longer).
    expect(stored.match(/[A-Za-z0-9_+/=-]{32,}/g)).toBeNull();
  });

  it('keeps at most 100, the newest; its TTL is set and renewed by every write', async () => {
    const { deps } = await setup();
    const { tokens } = await registerAndLogin(deps);
    const userId = tokens.user.id;
    const key = deps.keys.securityEvents(userId);
    for (let i = 0; i < MAX_SECURITY_EVENTS + 30; i++) {
      await recordSecurityEvent(deps, userId, 'login_failed', { ...testContext(`198.51.100.${i % 250}`), userAgent: `ua-${i}` });
    }
    expect(await deps.redis.llen(key)).toBe(MAX_SECURITY_EVENTS);
    const events = await listSecurityEvents(deps, userId);
    expect(events).toHaveLength(MAX_SECURITY_EVENTS);
    expect(events[0]!.userAgent).toBe(`ua-${MAX_SECURITY_EVENTS + 29}`);
    expect(events.at(-1)!.userAgent).toBe('ua-30');

    const ttl = securityEventsTtlMs(deps.config);
    expect(ttl).toBeGreaterThanOrEqual(deps.config.sessionMaxTtlSeconds * 1000);
    await deps.redis.pexpire(key, 60_000);
    await recordSecurityEvent(deps, userId, 'mfa_failed', testContext());
    const left = await deps.redis.pttl(key);
    expect(left).toBeGreaterThan(ttl - 60_000);
    expect(left).toBeLessThanOrEqual(ttl);
  });

  it('a failed login of an unknown email records nothing anywhere; an event for a deleted user brings back no key', async () => {
    const { deps } = await setup();
    const before = await deps.redis.keys(`${deps.config.redisKeyPrefix}*events`);
    await expectAuthError(login(deps, { email: uniqueEmail('nobody'), password: PASSWORD }, testContext()), 'invalid_credentials');
    expect(await deps.redis.keys(`${deps.config.redisKeyPrefix}*events`)).toEqual(before);

    const { tokens } = await registerAndLogin(deps);
    await deleteUser(deps, tokens.user.id);
    await recordSecurityEvent(deps, tokens.user.id, 'login_failed', testContext());
    expect(await keysOf(deps, tokens.user.id)).toEqual([]);
  });
});

describe('admin actions', () => {
  it('disable: every session revoked at once, refresh answers invalid_token, login answers account_disabled after a correct password only; enable lets it in again', async () => {
    const { deps, logger } = await setup();
    const { email, tokens } = await registerAndLogin(deps);
    const other = await login(deps, { email, password: PASSWORD }, testContext('198.51.100.20'));
    const before = await getUserById(deps, tokens.user.id);
    expect(before).toMatchObject({ id: tokens.user.id, email, disabled: false, lastLoginAt: expect.any(String) });

    const disabled = await disableUser(deps, tokens.user.id, 'compromised');
    expect(disabled).toMatchObject({ disabled: true, disabledReason: 'compromised' });
    expect(await authorize(deps, tokens.accessToken)).toBeNull();
    expect(await authorize(deps, other.accessToken)).toBeNull();
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'invalid_token');
    await expectAuthError(refresh(deps, other.refreshToken, testContext()), 'invalid_token');
    await expectAuthError(login(deps, { email, password: 'wrong password' }, testContext()), 'invalid_credentials');
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'account_disabled');
    expect(await listUserSessions(deps, tokens.user.id)).toEqual([]);
    expect(logger.named('login_failed').at(-1)).toMatchObject({ outcome: 'denied', reason: 'account_disabled' });
    // Newest first: the wrong password, then the disable (from "administrator", no IP).
    const events = await listSecurityEvents(deps, tokens.user.id);
    expect(events.map((event) => event.type).slice(0, 2)).toEqual(['login_failed', 'account_disabled']);
    expect(events[1]).toMatchObject({ userAgent: 'administrator', ip: '' });

    const enabled = await enableUser(deps, tokens.user.id);
    expect(enabled.disabled).toBe(false);
    expect(enabled.disabledReason).toBeUndefined();
    const back = await login(deps, { email, password: PASSWORD }, testContext());
    expect(await authorize(deps, back.accessToken)).not.toBeNull();
  });

  it('getUser by id or email, listSessions, revokeSessions; an unknown user is not_found and nothing is written', async () => {
    const { deps } = await setup();
    const { email, tokens } = await registerAndLogin(deps);
    await login(deps, { email, password: PASSWORD }, testContext());
    expect((await getUserByEmail(deps, ` ${email.toUpperCase()} `)).id).toBe(tokens.user.id);
    const sessions = await listUserSessions(deps, tokens.user.id);
    expect(sessions).toHaveLength(2);
    expect(sessions.every((session) => !session.current)).toBe(true);
    expect(await revokeUserSessions(deps, tokens.user.id)).toBe(2);
    expect(await authorize(deps, tokens.accessToken)).toBeNull();
    expect((await listSecurityEvents(deps, tokens.user.id))[0]!.type).toBe('sessions_revoked');

    const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
    for (const action of [getUserById, listUserSessions, revokeUserSessions, (d: Deps, id: string) => disableUser(d, id, ''), enableUser, deleteUser]) {
      await expectAuthError(action(deps, unknown), 'not_found');
    }
    await expectAuthError(getUserByEmail(deps, uniqueEmail('nobody')), 'not_found');
    expect(await keysOf(deps, unknown)).toEqual([]);
  });

  it('deleteUser removes every key of the user (sessions, record, events, email index); the email can register again', async () => {
    const { deps } = await setup();
    const { email, tokens } = await registerAndLogin(deps);
    await expectAuthError(login(deps, { email, password: 'wrong password' }, testContext()), 'invalid_credentials');
    const userId = tokens.user.id;
    // Named one by one (EXISTS is routed to the key's node on a Redis Cluster; KEYS is not).
    const named = [deps.keys.user(userId), deps.keys.userSessions(userId), deps.keys.session(userId, tokens.sessionId), deps.keys.securityEvents(userId), deps.keys.accountToken(userId, 'verify'), deps.keys.emailIndex(email)];
    for (const key of named) expect(await deps.redis.exists(key), key).toBe(1);
    await deleteUser(deps, userId);
    for (const key of named) expect(await deps.redis.exists(key), key).toBe(0);
    expect(await keysOf(deps, userId)).toEqual([]);
    expect(await authorize(deps, tokens.accessToken)).toBeNull();
    await expectAuthError(login(deps, { email, password: PASSWORD }, testContext()), 'invalid_credentials');
    expect((await register(deps, { email, password: PASSWORD }, testContext())).id).not.toBe(tokens.user.id);
  });
});

describe('security notices', () => {
  it('a sign-in from a device not seen before mails a notice (what, when, from where, what to do, the security page); a known one does not; the first sign-in does not', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('notice');
    await register(deps, { email, password: PASSWORD }, testContext('198.51.100.30'));
    const verification = (await mail.waitFor(email)).length;
    await login(deps, { email, password: PASSWORD }, testContext('198.51.100.30'));
    await login(deps, { email, password: PASSWORD }, testContext('198.51.100.30'));
    await login(deps, { email, password: PASSWORD, deviceName: 'Work PC' }, { ip: '198.51.100.31', userAgent: 'Firefox/140', requestId: 'x' });
    const mails = await mail.waitFor(email, verification + 1);
    expect(mails).toHaveLength(verification + 1);
    const notice = mails.at(-1)!;
    expect(notice.subject).toMatch(/new sign-in/i);
    for (const part of [notice.text, notice.html]) {
      expect(part).toContain('198.51.100.31');
      expect(part).toContain('Work PC');
      expect(part).toContain('Firefox/140');
      expect(part).toMatch(/\d{4}-\d{2}-\d{2}T/);
      expect(part).toContain('https://app.example.test/security');
      expect(part).not.toContain(PASSWORD);
    }
    expect(notice.text).toMatch(/change your password/i);
  });

  it('refresh-token reuse mails a notice', async () => {
    const { deps } = await setup();
    const { email, tokens } = await registerAndLogin(deps);
    const count = (await mail.to(email)).length;
    await refresh(deps, tokens.refreshToken, testContext());
    await expectAuthError(refresh(deps, tokens.refreshToken, testContext('198.51.100.40')), 'token_reused');
    const notice = (await mail.waitFor(email, count + 1)).at(-1)!;
    expect(notice.subject).toMatch(/stolen/i);
    expect(notice.text).toContain('198.51.100.40');
  });

  it('MFA on and off mail notices and are events; a wrong code and the second-factor login are events; a password reset mails a "password changed" notice', async () => {
    const { deps } = await setup({ RATE_LIMIT_MFA_PER_USER: 'off', RATE_LIMIT_MAIL_PER_EMAIL: 'off', RATE_LIMIT_MAIL_PER_IP: 'off' });
    const clock = deps.clock as ReturnType<typeof createTestClock>;
    const { email, tokens } = await registerAndLogin(deps);
    const principal = principalOf(tokens);
    const count = (await mail.waitFor(email)).length;
    const { secret } = await enrollTotp(deps, principal);
    await confirmTotp(deps, principal, { code: totpCode(secret, stepAt(clock.now())) }, testContext());
    expect((await mail.waitFor(email, count + 1)).at(-1)!.subject).toMatch(/two-step sign-in was turned on/i);

    const challenge = (await login(deps, { email, password: PASSWORD }, testContext(), { allowMfa: true })) as MfaChallenge;
    await expectAuthError(verifyMfa(deps, { mfaToken: challenge.mfaToken, code: '000000' }, testContext()), 'invalid_code');
    clock.advance(60_000);
    const verified = await verifyMfa(deps, { mfaToken: challenge.mfaToken, code: totpCode(secret, stepAt(clock.now())) }, testContext());
    clock.advance(60_000);
    await disableTotp(deps, principalOf(verified.tokens), { code: totpCode(secret, stepAt(clock.now())) }, testContext());
    expect((await mail.waitFor(email, count + 2)).at(-1)!.subject).toMatch(/two-step sign-in was turned off/i);
    expect((await listSecurityEvents(deps, tokens.user.id)).map((event) => event.type).slice(0, 4)).toEqual(['mfa_disabled', 'login_ok', 'mfa_failed', 'mfa_enabled']);

    await forgotPassword(deps, { email }, testContext());
    const link = (await mail.waitFor(email, count + 3)).at(-1)!;
    await resetPassword(deps, { token: tokenIn(link), password: NEW_PASSWORD }, testContext());
    const notice = (await mail.waitFor(email, count + 4)).at(-1)!;
    expect(notice.subject).toMatch(/password was changed/i);
    expect(notice.text).toMatch(/reset/i);
    expect((await listSecurityEvents(deps, tokens.user.id))[0]!.type).toBe('password_reset');
  });

  it('SECURITY_NOTIFICATIONS=false: no notice', async () => {
    const { deps } = await setup({ SECURITY_NOTIFICATIONS: 'false' });
    const email = uniqueEmail('quiet');
    await register(deps, { email, password: PASSWORD }, testContext('198.51.100.50'));
    await login(deps, { email, password: PASSWORD }, testContext('198.51.100.50'));
    const count = (await mail.waitFor(email)).length;
    await login(deps, { email, password: PASSWORD }, testContext('198.51.100.51'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await mail.to(email)).toHaveLength(count);
  });

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
    it(`SMTP ${mode}: a sign-in from a new device and a reuse still answer, without waiting past SECURITY_NOTICE_WAIT_MS; the failure is logged`, async () => {
      const hung = mode === 'hung' ? await hungSmtp() : undefined;
      try {
        const { deps, logger } = await setup({ SMTP_URL: hung?.url ?? 'smtp://127.0.0.1:9', MAIL_TIMEOUT_MS: '3000', SECURITY_NOTICE_WAIT_MS: '300', REQUIRE_VERIFIED_EMAIL: 'false' });
        const email = uniqueEmail(`notice-${mode}`);
        const ip = '198.51.100.60';
        await register(deps, { email, password: PASSWORD }, testContext(ip)).catch(() => undefined);
        await login(deps, { email, password: PASSWORD }, testContext(ip));
        const started = Date.now();
        const tokens = await login(deps, { email, password: PASSWORD }, testContext('198.51.100.61'));
        expect(Date.now() - started).toBeLessThan(1500);
        expect(await authorize(deps, tokens.accessToken)).not.toBeNull();
        await refresh(deps, tokens.refreshToken, testContext());
        await expectAuthError(refresh(deps, tokens.refreshToken, testContext()), 'token_reused');
        if (mode === 'down') {
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(logger.named('mail_failed').length).toBeGreaterThanOrEqual(1);
        }
      } finally {
        await hung?.close();
      }
    });
  }
});
