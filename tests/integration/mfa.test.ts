/**
 * TOTP with recovery codes against a real Redis, codes computed by the test from the enrolled
 * secret (tests/support/totp.ts, RFC 6238 written out): enrollment, login challenge, replay,
 * skew and step boundaries, limits, recovery codes, sudo mode and step-up. SPEC "Multi-factor
 * authentication".
 */
import { describe, expect, it } from 'vitest';
import { changePassword } from '../../lib/account/password-change';
import { authorize, login, refresh, register, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { confirmTotp, disableTotp, enrollTotp, regenerateRecoveryCodes, stepUp, verifyMfa, type MfaChallenge } from '../../lib/mfa/mfa';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import { stepAt, totpCode } from '../support/totp';
import { expectAuthError, flatToRecord, NO_LIMITS, outcomeOf, PASSWORD, uniqueEmail } from './helpers';

async function setup(env: Record<string, string> = {}) {
  const clock = createTestClock();
  const deps = await createTestDeps({ ...NO_LIMITS, RATE_LIMIT_MFA_PER_USER: 'off', ...env }, { clock });
  return { deps, clock };
}

const principalOf = (tokens: TokenResponse) => ({ userId: tokens.user.id, sessionId: tokens.sessionId });
const passwordLogin = (deps: Deps, email: string, ip?: string) => login(deps, { email, password: PASSWORD }, testContext(ip), { allowMfa: true });

/** A user with TOTP confirmed: its secret, recovery codes, and the session that enrolled it. */
async function userWithTotp(deps: Deps) {
  const email = uniqueEmail('mfa');
  await register(deps, { email, password: PASSWORD }, testContext());
  const tokens = await login(deps, { email, password: PASSWORD }, testContext());
  const enrollment = await enrollTotp(deps, principalOf(tokens));
  const { recoveryCodes } = await confirmTotp(deps, principalOf(tokens), { code: totpCode(enrollment.secret, stepAt(deps.clock.now())) }, testContext());
  return { email, tokens, secret: enrollment.secret, recoveryCodes };
}

async function challenge(deps: Deps, email: string): Promise<MfaChallenge> {
  const answer = await passwordLogin(deps, email);
  expect(answer).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery_code'], expiresIn: 300 });
  return answer as MfaChallenge;
}

describe('TOTP enrollment', () => {
  it('gives the secret, an otpauth URI and a QR code; nothing changes until a current code confirms it', async () => {
    const { deps } = await setup();
    const email = uniqueEmail('enroll');
    await register(deps, { email, password: PASSWORD }, testContext());
    const first = await login(deps, { email, password: PASSWORD }, testContext());
    const other = await login(deps, { email, password: PASSWORD }, testContext());
    const enrollment = await enrollTotp(deps, principalOf(first));
    expect(enrollment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrollment.otpauthUri).toMatch(new RegExp(`^otpauth://totp/.+\\?.*secret=${enrollment.secret}`));
    expect(enrollment.otpauthUri).toContain('algorithm=SHA1');
    expect(enrollment.qrCodeSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    // Pending: a password still signs in, and the secret is not in Redis in the clear.
    expect('accessToken' in (await passwordLogin(deps, email))).toBe(true);
    expect(JSON.stringify(await deps.redis.hgetall(deps.keys.user(first.user.id)))).not.toContain(enrollment.secret);

    await expectAuthError(confirmTotp(deps, principalOf(first), { code: '000000' }, testContext()), 'invalid_code');
    const { recoveryCodes } = await confirmTotp(deps, principalOf(first), { code: totpCode(enrollment.secret, stepAt(deps.clock.now())) }, testContext());
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    // The caller's session is now aal 2; the user's other sessions are revoked.
    expect(flatToRecord(await deps.redis.hgetall(deps.keys.session(first.user.id, first.sessionId)))).toMatchObject({ aal: '2', amr: 'pwd otp' });
    expect(await authorize(deps, other.accessToken)).toBeNull();
    const stored = JSON.stringify(await deps.redis.hgetall(deps.keys.user(first.user.id)));
    expect(stored).not.toContain(enrollment.secret);
    for (const code of recoveryCodes) expect(stored).not.toContain(code);
  });
});

describe('login with TOTP on', () => {
  it('answers the challenge and no tokens; a current code finishes it with aal 2, kept by refresh', async () => {
    const { deps } = await setup();
    const { email, secret } = await userWithTotp(deps);
    const answer = await challenge(deps, email);
    expect(answer).not.toHaveProperty('accessToken');
    // The code of the enrolling step is used: the next step's code (skew +1) is accepted.
    const { tokens } = await verifyMfa(deps, { mfaToken: answer.mfaToken, code: totpCode(secret, stepAt(deps.clock.now()) + 1) }, testContext());
    expect(await authorize(deps, tokens.accessToken)).toMatchObject({ aal: 2, amr: ['pwd', 'otp'] });
    const refreshed = await refresh(deps, tokens.refreshToken, testContext());
    expect(await authorize(deps, refreshed.accessToken)).toMatchObject({ aal: 2, amr: ['pwd', 'otp'] });
    // Single use: the MFA token is consumed.
    await expectAuthError(verifyMfa(deps, { mfaToken: answer.mfaToken, code: totpCode(secret, stepAt(deps.clock.now()) + 1) }, testContext()), 'invalid_token');
  });

  it('accepts a code at most once: the same code again, an older step, and two concurrent requests with one code (exactly one wins)', async () => {
    const { deps, clock } = await setup();
    const { email, secret } = await userWithTotp(deps);
    clock.advance(60_000);
    const code = totpCode(secret, stepAt(clock.now()));
    await verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code }, testContext());
    await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code }, testContext()), 'invalid_code');
    await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: totpCode(secret, stepAt(clock.now()) - 1) }, testContext()), 'invalid_code');

    clock.advance(60_000);
    const next = totpCode(secret, stepAt(clock.now()));
    const [a, b] = [await challenge(deps, email), await challenge(deps, email)];
    const outcomes = await Promise.all([a, b].map((c) => outcomeOf(verifyMfa(deps, { mfaToken: c.mfaToken, code: next }, testContext()))));
    expect(outcomes.map((o) => o.code).sort()).toEqual(['invalid_code', 'ok']);
  });

  it('allows one step of skew either way, not two; across a step boundary the previous code still works', async () => {
    const { deps, clock } = await setup();
    const { email, secret } = await userWithTotp(deps);
    clock.advance(300_000);
    // At the very start of a step: the previous step's code (skew −1) is accepted.
    clock.advance(30_000 - (clock.now() % 30_000));
    const step = stepAt(clock.now());
    await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: totpCode(secret, step - 2) }, testContext()), 'invalid_code');
    await verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: totpCode(secret, step - 1) }, testContext());
    await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: totpCode(secret, step + 2) }, testContext()), 'invalid_code');
    await verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: totpCode(secret, step + 1) }, testContext());
  });

  it('an MFA token dies after 5 wrong codes and after 300 s; a garbage token is invalid', async () => {
    const { deps, clock } = await setup();
    const { email, secret } = await userWithTotp(deps);
    clock.advance(60_000);
    const answer = await challenge(deps, email);
    for (let i = 0; i < 5; i++) await expectAuthError(verifyMfa(deps, { mfaToken: answer.mfaToken, code: '000000' }, testContext()), 'invalid_code');
    await expectAuthError(verifyMfa(deps, { mfaToken: answer.mfaToken, code: totpCode(secret, stepAt(clock.now())) }, testContext()), 'invalid_token');

    const late = await challenge(deps, email);
    clock.advance(301_000);
    await expectAuthError(verifyMfa(deps, { mfaToken: late.mfaToken, code: totpCode(secret, stepAt(clock.now())) }, testContext()), 'invalid_token');
    await expectAuthError(verifyMfa(deps, { mfaToken: 'garbage', code: '123456' }, testContext()), 'invalid_token');
  });

  it('limits wrong codes per user across fresh logins (RATE_LIMIT_MFA_PER_USER)', async () => {
    const { deps, clock } = await setup({ RATE_LIMIT_MFA_PER_USER: '3/900s' });
    const { email, secret } = await userWithTotp(deps);
    for (let i = 0; i < 3; i++) await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: '000000' }, testContext()), 'invalid_code');
    clock.advance(60_000);
    const limited = await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, code: totpCode(secret, stepAt(clock.now())) }, testContext()), 'rate_limited');
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('a recovery code finishes a login once; a password reset leaves MFA on', async () => {
    const { deps } = await setup();
    const { email, recoveryCodes } = await userWithTotp(deps);
    const { tokens } = await verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, recoveryCode: recoveryCodes[3]!.toLowerCase() }, testContext());
    expect(await authorize(deps, tokens.accessToken)).toMatchObject({ aal: 2 });
    await expectAuthError(verifyMfa(deps, { mfaToken: (await challenge(deps, email)).mfaToken, recoveryCode: recoveryCodes[3]! }, testContext()), 'invalid_code');
  });
});

describe('sudo mode and step-up', () => {
  it('a security change needs a fresh second factor; step-up renews it without a new login', async () => {
    const { deps, clock } = await setup();
    const { email, secret, tokens } = await userWithTotp(deps);
    // Fresh from confirming: allowed right away.
    clock.advance(1_000);
    await changePassword(deps, principalOf(tokens), { currentPassword: PASSWORD, newPassword: `${PASSWORD}!` }, testContext());
    // 15 minutes later: step_up_required.
    clock.advance(901_000);
    await expectAuthError(changePassword(deps, principalOf(tokens), { currentPassword: `${PASSWORD}!`, newPassword: PASSWORD }, testContext()), 'step_up_required');
    await expectAuthError(regenerateRecoveryCodes(deps, principalOf(tokens), testContext()), 'step_up_required');
    const { tokens: renewed, transport } = await stepUp(deps, principalOf(tokens), { code: totpCode(secret, stepAt(clock.now())) }, testContext());
    expect(transport).toBe('body');
    expect(renewed.sessionId).toBe(tokens.sessionId);
    expect(await authorize(deps, renewed.accessToken)).toMatchObject({ aal: 2 });
    expect((await refresh(deps, renewed.refreshToken, testContext())).sessionId).toBe(tokens.sessionId);
    const { recoveryCodes } = await regenerateRecoveryCodes(deps, principalOf(tokens), testContext());
    expect(recoveryCodes).toHaveLength(10);
    void email;
  });

  it('turning TOTP off needs sudo mode and a current code; then a password signs in again', async () => {
    const { deps, clock } = await setup();
    const { email, secret, tokens } = await userWithTotp(deps);
    clock.advance(60_000);
    await expectAuthError(disableTotp(deps, principalOf(tokens), { code: '000000' }, testContext()), 'invalid_code');
    await disableTotp(deps, principalOf(tokens), { code: totpCode(secret, stepAt(clock.now())) }, testContext());
    expect('accessToken' in (await passwordLogin(deps, email))).toBe(true);
  });
});
