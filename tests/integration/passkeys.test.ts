/**
 * Passkeys against a real Redis, with a software authenticator written from the WebAuthn spec
 * (tests/support/authenticator.ts): registration, discoverable and email-hinted sign-in, the
 * single-use and ceremony-bound challenges, the signature counter, the limits, sudo mode and
 * the passkey as a second factor. SPEC "Passkeys". (tests/browser/passkeys.test.ts does it
 * again in Chromium with its virtual authenticator.)
 */
import { describe, expect, inject, it } from 'vitest';
import { authorize, login, refresh, register, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { deleteAccount } from '../../lib/account/account-deletion';
import { parseMfaToken } from '../../lib/mfa/challenge';
import { confirmTotp, enrollTotp, verifyMfa, type MfaChallenge } from '../../lib/mfa/mfa';
import { deletePasskey, listPasskeys, mfaPasskeyOptions, passkeyLogin, passkeyLoginOptions, passkeyRegistrationOptions, registerPasskey } from '../../lib/passkeys/passkeys';
import { listSecurityEvents } from '../../lib/security/events';
import { softAuthenticator } from '../support/authenticator';
import { inbox } from '../support/inbox';
import { createTestClock, createTestDeps, testContext } from '../support/deps';
import { stepAt, totpCode } from '../support/totp';
import { captureLogger, expectAuthError, flatToRecord, NO_LIMITS, outcomeOf, PASSWORD, uniqueEmail } from './helpers';

const ORIGIN = 'https://app.example.test';

async function setup(env: Record<string, string> = {}) {
  const logger = captureLogger();
  const clock = createTestClock();
  const deps = await createTestDeps({ ...NO_LIMITS, RATE_LIMIT_MFA_PER_USER: 'off', RATE_LIMIT_PASSKEY_LOGIN_PER_IP: 'off', ...env }, { clock, logger });
  return { deps, clock, logger };
}

const principalOf = (tokens: TokenResponse) => ({ userId: tokens.user.id, sessionId: tokens.sessionId });

async function signedInUser(deps: Deps) {
  const email = uniqueEmail('passkey');
  await register(deps, { email, password: PASSWORD }, testContext());
  const tokens = await login(deps, { email, password: PASSWORD }, testContext());
  return { email, tokens, principal: principalOf(tokens) };
}

/** Registers a passkey of `authenticator` for the signed-in caller. */
async function addPasskey(deps: Deps, principal: { userId: string; sessionId: string }, authenticator: ReturnType<typeof softAuthenticator>, name = 'Laptop') {
  const options = await passkeyRegistrationOptions(deps, principal);
  return registerPasskey(deps, principal, { response: authenticator.create(options), name }, testContext());
}

async function signInWith(deps: Deps, authenticator: ReturnType<typeof softAuthenticator>, email?: string) {
  const options = await passkeyLoginOptions(deps, email === undefined ? {} : { email }, testContext());
  return passkeyLogin(deps, { challengeId: options.challengeId, response: authenticator.get(options) }, testContext());
}

describe('passkey registration', () => {
  it('asks for a discoverable, user-verified credential of this RP, stores it under a name, and lists it', async () => {
    const { deps, logger } = await setup();
    const { principal, email } = await signedInUser(deps);
    const options = await passkeyRegistrationOptions(deps, principal);
    expect(options).toMatchObject({
      rp: { id: 'app.example.test' },
      user: { name: email },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      timeout: 300_000,
    });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    const passkey = await registerPasskey(deps, principal, { response: authenticator.create(options), name: 'Work laptop' }, testContext());
    expect(passkey).toEqual({ id: authenticator.credentials[0]!.id, name: 'Work laptop', createdAt: expect.any(String), lastUsedAt: null });
    expect(await listPasskeys(deps, principal)).toEqual([passkey]);
    expect(flatToRecord(await deps.redis.hgetall(deps.keys.user(principal.userId)))).toMatchObject({ pkn: '1' });
    expect(logger.named('passkey_added')).toHaveLength(1);
    // In the user's security activity, and mailed as a notice.
    expect((await listSecurityEvents(deps, principal.userId))[0]).toMatchObject({ type: 'passkey_added', deviceName: 'Work laptop', sessionId: principal.sessionId });
    // The verification mail of the registration, then the notice.
    const notice = (await inbox(inject('mailWebUrl')).waitFor(email, 2)).find((mail) => /passkey/i.test(mail.subject));
    expect(notice?.text).toContain('Work laptop');

    // A second one is excluded from nothing but the first: excludeCredentials lists it.
    const next = await passkeyRegistrationOptions(deps, principal);
    expect(next.excludeCredentials).toEqual([expect.objectContaining({ id: passkey.id })]);
  });

  it('refuses a response that does not verify: wrong origin, a challenge of another ceremony or session, a used challenge', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const options = await passkeyRegistrationOptions(deps, principal);
    await expectAuthError(registerPasskey(deps, principal, { response: softAuthenticator({ origin: 'https://evil.example' }).create(options) }, testContext()), 'invalid_request');
    // The challenge was used by that attempt.
    await expectAuthError(registerPasskey(deps, principal, { response: softAuthenticator({ origin: ORIGIN }).create(options) }, testContext()), 'invalid_token');

    // Another session of the same user cannot finish this session's ceremony.
    const other = principalOf(await login(deps, { email: (await deps.redis.hget(deps.keys.user(principal.userId), 'email'))!, password: PASSWORD }, testContext()));
    const mine = await passkeyRegistrationOptions(deps, principal);
    await expectAuthError(registerPasskey(deps, other, { response: softAuthenticator({ origin: ORIGIN }).create(mine) }, testContext()), 'invalid_token');

    // A sign-in challenge never serves a registration, nor a registration challenge a sign-in.
    const signIn = await passkeyLoginOptions(deps, {}, testContext());
    await expectAuthError(registerPasskey(deps, principal, { response: softAuthenticator({ origin: ORIGIN }).create({ ...mine, challenge: signIn.challengeId }) }, testContext()), 'invalid_token');
    expect(await listPasskeys(deps, principal)).toEqual([]);
  });

  it('a user without user verification on the authenticator gets no passkey', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const options = await passkeyRegistrationOptions(deps, principal);
    await expectAuthError(registerPasskey(deps, principal, { response: softAuthenticator({ origin: ORIGIN, userVerification: false }).create(options) }, testContext()), 'invalid_request');
  });

  it('holds at most 10 per user; a deleted one frees its place, and only its owner can delete it', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    for (let i = 0; i < 10; i++) await addPasskey(deps, principal, authenticator, `key ${i}`);
    await expectAuthError(passkeyRegistrationOptions(deps, principal), 'invalid_request');
    const listed = await listPasskeys(deps, principal);
    expect(listed.map((p) => p.name)).toEqual([...Array(10).keys()].map((i) => `key ${i}`));

    const stranger = await signedInUser(deps);
    await expectAuthError(deletePasskey(deps, stranger.principal, listed[0]!.id, testContext()), 'not_found');
    await deletePasskey(deps, principal, listed[0]!.id, testContext());
    expect((await listSecurityEvents(deps, principal.userId))[0]).toMatchObject({ type: 'passkey_removed' });
    await expectAuthError(deletePasskey(deps, principal, listed[0]!.id, testContext()), 'not_found');
    expect(await listPasskeys(deps, principal)).toHaveLength(9);
    await addPasskey(deps, principal, authenticator);
  });
});

describe('passkey sign-in', () => {
  it('signs in with a discoverable credential (no email): aal 2, amr hwk+user, kept by refresh, and counts its use', async () => {
    const { deps } = await setup();
    const { principal, email } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    const passkey = await addPasskey(deps, principal, authenticator);

    const options = await passkeyLoginOptions(deps, {}, testContext());
    expect(options).toMatchObject({ rpId: 'app.example.test', userVerification: 'required', allowCredentials: [], timeout: 300_000 });
    expect(options.challengeId).toBe(options.challenge);
    const tokens = await passkeyLogin(deps, { challengeId: options.challengeId, response: authenticator.get(options), deviceName: 'Phone' }, testContext());
    expect(tokens.user).toEqual({ id: principal.userId, email });
    expect(await authorize(deps, tokens.accessToken)).toMatchObject({ userId: principal.userId, aal: 2, amr: ['hwk', 'user'] });
    const refreshed = await refresh(deps, tokens.refreshToken, testContext());
    expect(await authorize(deps, refreshed.accessToken)).toMatchObject({ aal: 2, amr: ['hwk', 'user'] });
    const [listed] = await listPasskeys(deps, principal);
    expect(listed).toMatchObject({ id: passkey.id, lastUsedAt: expect.any(String) });
  });

  it('with an email, lists that account\'s passkeys among made-up ones: every address gets 10 entries, the same each time', async () => {
    const { deps } = await setup();
    const { principal, email } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    const passkey = await addPasskey(deps, principal, authenticator);
    const hinted = await passkeyLoginOptions(deps, { email: ` ${email.toUpperCase()} ` }, testContext());
    expect(hinted.allowCredentials).toHaveLength(10);
    expect(hinted.allowCredentials).toContainEqual(expect.objectContaining({ id: passkey.id }));
    const ids = hinted.allowCredentials!.map((c) => c.id);
    expect(ids).toEqual([...ids].sort());
    await passkeyLogin(deps, { challengeId: hinted.challengeId, response: authenticator.get({ ...hinted, allowCredentials: [{ id: passkey.id }] }) }, testContext());

    const unknown = uniqueEmail('nobody');
    const [a, b] = [await passkeyLoginOptions(deps, { email: unknown }, testContext()), await passkeyLoginOptions(deps, { email: unknown }, testContext())];
    expect(a.allowCredentials).toHaveLength(10);
    expect(a.allowCredentials!.map((c) => c.id)).toEqual(b.allowCredentials!.map((c) => c.id));
    for (const entry of a.allowCredentials!) expect(entry).toMatchObject({ id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), transports: ['hybrid', 'internal'] });
    // An account without passkeys looks the same.
    const { email: bare } = await signedInUser(deps);
    expect((await passkeyLoginOptions(deps, { email: bare }, testContext())).allowCredentials).toHaveLength(10);
  });

  it('a challenge serves once: of two verifications with one challenge, exactly one succeeds', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    await addPasskey(deps, principal, authenticator);
    const options = await passkeyLoginOptions(deps, {}, testContext());
    const [first, second] = [authenticator.get(options), authenticator.get(options)];
    const outcomes = await Promise.all([first, second].map((response) => outcomeOf(passkeyLogin(deps, { challengeId: options.challengeId, response }, testContext()))));
    expect(outcomes.map((o) => o.code).sort()).toEqual(['invalid_token', 'ok']);
  });

  it('a challenge expires after 300 s, and a registration challenge never signs in', async () => {
    const { deps, clock } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    await addPasskey(deps, principal, authenticator);
    const registration = await passkeyRegistrationOptions(deps, principal);
    await expectAuthError(passkeyLogin(deps, { challengeId: registration.challenge, response: authenticator.get({ challenge: registration.challenge }) }, testContext()), 'invalid_token');

    const options = await passkeyLoginOptions(deps, {}, testContext());
    // Redis expires the key itself: wait for it rather than move the test clock.
    await deps.redis.pexpire(deps.keys.webauthnChallenge(options.challengeId), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(300_001);
    await expectAuthError(passkeyLogin(deps, { challengeId: options.challengeId, response: authenticator.get(options) }, testContext()), 'invalid_token');
    expect(await deps.redis.pttl(deps.keys.webauthnChallenge((await passkeyLoginOptions(deps, {}, testContext())).challengeId))).toBeGreaterThan(299_000);
  });

  it('refuses a signature counter that goes backwards, and logs it as a possible cloned key', async () => {
    const { deps, logger } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    await addPasskey(deps, principal, authenticator);
    await signInWith(deps, authenticator); // counter 1
    await signInWith(deps, authenticator); // counter 2
    const options = await passkeyLoginOptions(deps, {}, testContext());
    await expectAuthError(passkeyLogin(deps, { challengeId: options.challengeId, response: authenticator.get(options, { counter: 2 }) }, testContext()), 'invalid_credentials');
    expect(logger.named('passkey_counter_regressed')).toEqual([expect.objectContaining({ userId: principal.userId, outcome: 'denied' })]);
    expect((await listSecurityEvents(deps, principal.userId))[0]).toMatchObject({ type: 'login_failed' });
    // The genuine key, moving on, still signs in.
    await signInWith(deps, authenticator);
  });

  it('a passkey registered without transports keeps a list of them (none) after it is used', async () => {
    const { deps } = await setup();
    const { principal, email } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN, transports: [] });
    await addPasskey(deps, principal, authenticator);
    await signInWith(deps, authenticator);
    const hinted = await passkeyLoginOptions(deps, { email }, testContext());
    expect(hinted.allowCredentials).toContainEqual({ id: authenticator.credentials[0]!.id, type: 'public-key', transports: [] });
    expect((await passkeyRegistrationOptions(deps, principal)).excludeCredentials).toEqual([{ id: authenticator.credentials[0]!.id, type: 'public-key', transports: [] }]);
  });

  it('a sign-in from a device the account has not seen mails the new-device notice; a failed one is in the activity', async () => {
    const { deps } = await setup();
    const { principal, email } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    await addPasskey(deps, principal, authenticator);
    const options = await passkeyLoginOptions(deps, {}, testContext('192.0.2.77'));
    await passkeyLogin(deps, { challengeId: options.challengeId, response: authenticator.get(options), deviceName: 'Kiosk' }, testContext('192.0.2.77'));
    const notice = (await inbox(inject('mailWebUrl')).waitFor(email, 3)).find((mail) => /new device|sign-in/i.test(mail.subject));
    expect(notice?.text).toContain('192.0.2.77');
    const again = await passkeyLoginOptions(deps, {}, testContext());
    const forged = authenticator.get(again);
    forged.response.signature = Buffer.from(forged.response.signature, 'base64url').reverse().toString('base64url');
    await expectAuthError(passkeyLogin(deps, { challengeId: again.challengeId, response: forged }, testContext()), 'invalid_credentials');
    expect((await listSecurityEvents(deps, principal.userId))[0]).toMatchObject({ type: 'login_failed' });
  });

  it('an authenticator that keeps no counter (always 0) signs in every time', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN, counterStep: 0 });
    await addPasskey(deps, principal, authenticator);
    await signInWith(deps, authenticator);
    await signInWith(deps, authenticator);
  });

  it('refuses a bad signature, another origin, an assertion without user verification, and a deleted passkey', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    const passkey = await addPasskey(deps, principal, authenticator);

    const options = await passkeyLoginOptions(deps, {}, testContext());
    const forged = authenticator.get(options);
    forged.response.signature = Buffer.from(forged.response.signature, 'base64url').reverse().toString('base64url');
    await expectAuthError(passkeyLogin(deps, { challengeId: options.challengeId, response: forged }, testContext()), 'invalid_credentials');

    const phished = await passkeyLoginOptions(deps, {}, testContext());
    const elsewhere = softAuthenticator({ origin: 'https://app.example.test.evil.example' });
    elsewhere.credentials.push(...authenticator.credentials);
    await expectAuthError(passkeyLogin(deps, { challengeId: phished.challengeId, response: elsewhere.get(phished) }, testContext()), 'invalid_credentials');

    const noUv = softAuthenticator({ origin: ORIGIN, userVerification: false });
    noUv.credentials.push(...authenticator.credentials);
    const unverified = await passkeyLoginOptions(deps, {}, testContext());
    await expectAuthError(passkeyLogin(deps, { challengeId: unverified.challengeId, response: noUv.get(unverified) }, testContext()), 'invalid_credentials');

    await deletePasskey(deps, principal, passkey.id, testContext());
    await expectAuthError(signInWith(deps, authenticator), 'invalid_credentials');
  });

  it('is limited per client IP (RATE_LIMIT_PASSKEY_LOGIN_PER_IP)', async () => {
    const { deps } = await setup({ RATE_LIMIT_PASSKEY_LOGIN_PER_IP: '3/60s' });
    const ip = `198.51.100.${Math.floor(Math.random() * 200)}`;
    const attempts = [];
    for (let i = 0; i < 4; i++) attempts.push(await outcomeOf(passkeyLoginOptions(deps, {}, testContext(ip))));
    expect(attempts.map((a) => a.code)).toEqual(['ok', 'ok', 'ok', 'rate_limited']);
    // Another IP is not affected.
    await passkeyLoginOptions(deps, {}, testContext('198.51.100.250'));
  });

  it('a deleted account\'s passkeys go with it', async () => {
    const { deps } = await setup();
    const { principal } = await signedInUser(deps);
    const authenticator = softAuthenticator({ origin: ORIGIN });
    await addPasskey(deps, principal, authenticator);
    await deleteAccount(deps, principal, { password: PASSWORD }, testContext());
    expect(await deps.redis.exists(deps.keys.passkeys(principal.userId))).toBe(0);
    await expectAuthError(signInWith(deps, authenticator), 'invalid_credentials');
  });
});

describe('passkeys with TOTP on', () => {
  async function userWithTotpAndPasskey(deps: Deps) {
    const { email, tokens, principal } = await signedInUser(deps);
    const enrollment = await enrollTotp(deps, principal);
    await confirmTotp(deps, principal, { code: totpCode(enrollment.secret, stepAt(deps.clock.now())) }, testContext());
    const authenticator = softAuthenticator({ origin: ORIGIN });
    // The enrolling session is aal 2 and fresh: sudo mode lets it add the passkey.
    await addPasskey(deps, principal, authenticator);
    return { email, tokens, principal, secret: enrollment.secret, authenticator };
  }

  it('adding or removing one needs sudo mode (aal 2, a fresh second factor)', async () => {
    const { deps, clock } = await setup();
    const { email, authenticator, principal } = await userWithTotpAndPasskey(deps);
    clock.advance(901_000);
    await expectAuthError(passkeyRegistrationOptions(deps, principal), 'step_up_required');
    const [passkey] = await listPasskeys(deps, principal);
    await expectAuthError(deletePasskey(deps, principal, passkey!.id, testContext()), 'step_up_required');
    // A passkey sign-in is aal 2 with a fresh second factor: it may.
    const viaPasskey = await signInWith(deps, authenticator, email);
    await passkeyRegistrationOptions(deps, principalOf(viaPasskey));
  });

  it('a user-verified passkey signs in without the TOTP code', async () => {
    const { deps } = await setup();
    const { authenticator } = await userWithTotpAndPasskey(deps);
    const tokens = await signInWith(deps, authenticator);
    expect(await authorize(deps, tokens.accessToken)).toMatchObject({ aal: 2, amr: ['hwk', 'user'] });
  });

  it('answers the MFA challenge of a password login: methods list passkey, options are bound to that challenge', async () => {
    const { deps } = await setup();
    const { email, authenticator } = await userWithTotpAndPasskey(deps);
    const answer = (await login(deps, { email, password: PASSWORD }, testContext(), { allowMfa: true })) as MfaChallenge;
    expect(answer.methods).toEqual(['totp', 'recovery_code', 'passkey']);
    const options = await mfaPasskeyOptions(deps, { mfaToken: answer.mfaToken });
    expect(options.allowCredentials).toEqual([expect.objectContaining({ id: authenticator.credentials[0]!.id })]);

    // The options of another MFA challenge do not answer this one.
    const other = (await login(deps, { email, password: PASSWORD }, testContext(), { allowMfa: true })) as MfaChallenge;
    const otherOptions = await mfaPasskeyOptions(deps, { mfaToken: other.mfaToken });
    await expectAuthError(verifyMfa(deps, { mfaToken: answer.mfaToken, passkey: { challengeId: otherOptions.challengeId, response: authenticator.get(otherOptions) } }, testContext()), 'invalid_token');
    // Nor does a sign-in challenge.
    const signIn = await passkeyLoginOptions(deps, {}, testContext());
    await expectAuthError(verifyMfa(deps, { mfaToken: answer.mfaToken, passkey: { challengeId: signIn.challengeId, response: authenticator.get(signIn) } }, testContext()), 'invalid_token');

    const { tokens } = await verifyMfa(deps, { mfaToken: answer.mfaToken, passkey: { challengeId: options.challengeId, response: authenticator.get(options) } }, testContext());
    expect(await authorize(deps, tokens.accessToken)).toMatchObject({ aal: 2, amr: ['pwd', 'hwk'] });
    // The MFA token is used up.
    const again = await mfaPasskeyOptions(deps, { mfaToken: other.mfaToken });
    await expectAuthError(mfaPasskeyOptions(deps, { mfaToken: answer.mfaToken }), 'invalid_token');
    expect(again.challengeId).toBeTruthy();
  });

  it('a passkey that does not verify counts as a wrong code of the challenge', async () => {
    const { deps } = await setup();
    const { email, authenticator } = await userWithTotpAndPasskey(deps);
    const answer = (await login(deps, { email, password: PASSWORD }, testContext(), { allowMfa: true })) as MfaChallenge;
    const options = await mfaPasskeyOptions(deps, { mfaToken: answer.mfaToken });
    const forged = authenticator.get(options);
    forged.response.signature = Buffer.from(forged.response.signature, 'base64url').reverse().toString('base64url');
    await expectAuthError(verifyMfa(deps, { mfaToken: answer.mfaToken, passkey: { challengeId: options.challengeId, response: forged } }, testContext()), 'invalid_code');
    expect(flatToRecord(await deps.redis.hgetall(parseMfaToken(deps, answer.mfaToken)!.key))).toMatchObject({ n: '1' });
  });
});
