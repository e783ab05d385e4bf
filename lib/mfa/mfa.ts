import type { RecoveryCodes, TotpEnrollment } from '../../client/src/contract';
import { issueTokens, type Principal, type TokenResponse } from '../auth';
import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { currentRefreshToken, openSession, revokeAllSessions } from '../sessions/sessions';
import { USER_FIELDS } from '../store/schema';
import { readHashFields, runScript } from '../store/redis';
import { SECOND_FACTOR } from '../store/scripts/second-factor';
import { TOTP_SETTINGS } from '../store/scripts/totp-settings';
import { findUserById } from '../users/users';
import { recordSecurityEvent, securityEvent } from '../security/events';
import { sendSecurityNotice } from '../security/notices';
import { parseMfaToken, type PendingLogin } from './challenge';
import { requireSudo } from './sudo';
import { hashRecoveryCode, newRecoveryCodes, newTotpSecret, openTotpSecret, sealTotpSecret, totpEnrollment, totpStep } from './totp';

/** A second factor turned on or off: the security event, and the notice to the account's address (two store requests, then the mail). */
async function securityChange(deps: Deps, principal: Principal, kind: 'mfa_enabled' | 'mfa_disabled', context: RequestContext): Promise<void> {
  await recordSecurityEvent(deps, principal.userId, kind, context, { sessionId: principal.sessionId });
  const user = await findUserById(deps, principal.userId).catch(() => null);
  if (user) await sendSecurityNotice(deps, kind, user.email, context, { userId: user.id });
}

/**
 * The passkey module, loaded the first time a passkey answers a challenge: @simplewebauthn/server
 * (~400 KB with its certificate code) is then evaluated only by the containers that need it,
 * not at every cold start of the MFA function.
 */
export const loadPasskeys = () => import('../passkeys/passkeys');

/** Wrong codes one MFA challenge survives. */
const MAX_WRONG_CODES = 5;

/** A second factor as the client gives it (a passkey only for a login's MFA challenge). */
export type SecondFactorInput = { code: string } | { recoveryCode: string };
export type ChallengeFactorInput = SecondFactorInput | { passkey: { challengeId: unknown; response: unknown } };

/** A second factor judged: the TOTP step or recovery code hash the script checks, a verified passkey, or nothing that matched. */
type JudgedFactor = { kind: 'totp' | 'recovery' | 'passkey' | 'wrong'; value: string };

async function limitCodes(deps: Deps, userId: string, context: RequestContext): Promise<void> {
  try {
    await deps.rateLimiter.check([{ name: 'mfaPerUser', identifier: userId }], deps.clock.now());
  } catch (error) {
    if (error instanceof AuthError && error.code === 'rate_limited') deps.logger.event('rate_limited', context, { outcome: 'denied', userId, reason: 'mfa' });
    throw error;
  }
}

/** Which second factor a code is, checked against the user's (sealed) secret where it is a TOTP code. One request. */
async function judgeCode(deps: Deps, userId: string, input: SecondFactorInput): Promise<JudgedFactor> {
  if ('recoveryCode' in input) return { kind: 'recovery', value: hashRecoveryCode(input.recoveryCode) };
  const [sealed] = await readHashFields(deps.redis, deps.keys.user(userId), [USER_FIELDS.totpSecret]);
  const secret = sealed ? openTotpSecret(deps.config, sealed) : null;
  const step = secret ? totpStep(deps.config, secret, input.code, deps.clock.now()) : null;
  return step === null ? { kind: 'wrong', value: '' } : { kind: 'totp', value: String(step) };
}

/**
 * Runs the second-factor script (one request) on a judged factor, which also applies the
 * per-user limit on wrong codes atomically; a wrong, replayed or used code (or a passkey that
 * did not verify) counts against it and answers `invalid_code`.
 */
async function acceptSecondFactor(deps: Deps, userId: string, targetKey: string, mode: 'challenge' | 'session', { kind, value }: JudgedFactor, context: RequestContext): Promise<string[]> {
  const limit = deps.config.rateLimits.mfaPerUser;
  const [outcome, ...rest] = await runScript<string[]>(deps.redis, SECOND_FACTOR, [deps.keys.user(userId), targetKey], [
    mode, kind, value, deps.clock.now(), MAX_WRONG_CODES, limit?.limit ?? 0, (limit?.windowSeconds ?? 1) * 1000,
  ]);
  if (outcome === 'ok') return rest;
  if (outcome === 'limited') {
    deps.logger.event('rate_limited', context, { outcome: 'denied', userId, reason: 'mfa' });
    throw new AuthError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(Number(rest[0]) / 1000)) });
  }
  if (outcome === 'wrong') {
    deps.logger.event('login_failed', context, { outcome: 'failure', userId, reason: 'invalid_code' });
    await recordSecurityEvent(deps, userId, 'mfa_failed', context);
    throw new AuthError('invalid_code');
  }
  if (outcome === 'disabled') throw new AuthError('account_disabled');
  // No such challenge (used, expired, past its wrong codes) or session.
  throw new AuthError('invalid_token');
}

/**
 * POST /auth/mfa/verify: finishes a login that passed its password with a TOTP code, a
 * recovery code or a passkey (its challenge from POST /auth/mfa/passkey/options). The MFA
 * token is single use (consumed by a success), lives 300 s, dies after 5 wrong codes; wrong
 * codes also count per user (RATE_LIMIT_MFA_PER_USER) across MFA tokens.
 */
export async function verifyMfa(deps: Deps, input: { mfaToken: string } & ChallengeFactorInput, context: RequestContext): Promise<{ tokens: TokenResponse; login: PendingLogin }> {
  const { mfaToken, ...factor } = input;
  const parsed = parseMfaToken(deps, mfaToken);
  if (!parsed) throw new AuthError('invalid_token');
  const { userId, key } = parsed;
  const judged: JudgedFactor = 'passkey' in factor
    ? { kind: (await (await loadPasskeys()).checkPasskeyFactor(deps, parsed, factor.passkey, context)) ? 'passkey' : 'wrong', value: '' }
    : await judgeCode(deps, userId, factor);
  const [loginJson, method] = await acceptSecondFactor(deps, userId, key, 'challenge', judged, context);
  const login = JSON.parse(loginJson!) as PendingLogin;
  // The session's script reads the user's email itself (and refuses a deleted user).
  const session = await openSession(deps, { id: userId, email: '' }, login.device, { assurance: { aal: 2, amr: ['pwd', method ?? 'otp'] }, transport: login.transport });
  if ('mfaRequired' in session) throw new Error('unreachable');
  deps.logger.event('login_ok', context, { outcome: 'success', userId, sessionId: session.sessionId, reason: 'second_factor' });
  return { tokens: await issueTokens(deps, session), login };
}

/** POST /auth/mfa/step-up: a second factor for the caller's session, now aal 2 (sudo mode renewed). */
export async function stepUp(deps: Deps, principal: Principal, input: SecondFactorInput, context: RequestContext): Promise<{ tokens: TokenResponse; transport: 'body' | 'cookie' }> {
  const user = await findUserById(deps, principal.userId);
  if (!user) throw new AuthError('invalid_token');
  if (!user.mfa.totp) throw new AuthError('invalid_request', 'No second factor is set up for this account.');
  const [generation, deadline, amr, transport] = await acceptSecondFactor(deps, user.id, deps.keys.session(user.id, principal.sessionId), 'session', await judgeCode(deps, user.id, input), context);
  deps.logger.event('login_ok', context, { outcome: 'success', userId: user.id, sessionId: principal.sessionId, reason: 'step_up' });
  // The session's transport: a cookie session's refresh token never appears in a body.
  return { transport: transport === 'cookie' ? 'cookie' : 'body', tokens: await issueTokens(deps, {
    sessionId: principal.sessionId,
    user: { id: user.id, email: user.email },
    refreshToken: currentRefreshToken(deps.config, user.id, principal.sessionId, Number(generation)),
    expiresAtMs: Number(deadline),
    aal: 2,
    amr: (amr ?? 'pwd otp').split(' '),
  }) };
}

/** POST /auth/mfa/totp/enroll: a pending secret, as text, `otpauth://` URI and QR code; nothing is active yet. */
export async function enrollTotp(deps: Deps, principal: Principal): Promise<TotpEnrollment> {
  const user = await findUserById(deps, principal.userId);
  if (!user) throw new AuthError('invalid_token');
  const secret = newTotpSecret();
  const stored = await runScript<number>(deps.redis, TOTP_SETTINGS, [deps.keys.user(user.id), deps.keys.session(user.id, principal.sessionId)], [
    'enroll', sealTotpSecret(deps.config, secret), '', '', deps.clock.now(),
  ]);
  if (stored !== 1) throw new AuthError('invalid_request', 'TOTP is already on: turn it off first.');
  return { secret, ...(await totpEnrollment(deps.config, secret, user.email)) };
}

/**
 * POST /auth/mfa/totp/confirm `{code}`: a current code of the pending secret turns TOTP on;
 * answers the 10 recovery codes (shown once), makes the caller's session aal 2 and revokes the
 * user's other sessions.
 */
export async function confirmTotp(deps: Deps, principal: Principal, input: { code: string }, context: RequestContext): Promise<RecoveryCodes> {
  // Every confirm attempt counts (an enrollment is confirmed once): counted before it is judged.
  await limitCodes(deps, principal.userId, context);
  const [sealed] = await readHashFields(deps.redis, deps.keys.user(principal.userId), [USER_FIELDS.totpPending]);
  const secret = sealed ? openTotpSecret(deps.config, sealed) : null;
  if (!sealed || !secret) throw new AuthError('invalid_request', 'Enroll first (POST /auth/mfa/totp/enroll).');
  const step = totpStep(deps.config, secret, input.code, deps.clock.now());
  if (step === null) throw new AuthError('invalid_code');
  // The other sessions go first: should this fault, TOTP is not on yet and the confirm can be
  // retried (the pending secret is still there), so no password-only session outlives it.
  await revokeAllSessions(deps, principal.userId, { except: principal.sessionId, event: securityEvent(deps, 'sessions_revoked', context, { sessionId: principal.sessionId }) });
  const recoveryCodes = newRecoveryCodes();
  const confirmed = await runScript<number>(deps.redis, TOTP_SETTINGS, [deps.keys.user(principal.userId), deps.keys.session(principal.userId, principal.sessionId)], [
    'confirm', sealed, step, recoveryCodes.map(hashRecoveryCode).join(' '), deps.clock.now(),
  ]);
  if (confirmed !== 1) throw new AuthError('invalid_request', 'The enrollment changed meanwhile: enroll again.');
  deps.logger.event('mfa_enabled', context, { outcome: 'success', userId: principal.userId, sessionId: principal.sessionId });
  await securityChange(deps, principal, 'mfa_enabled', context);
  return { recoveryCodes };
}

/** DELETE /auth/mfa/totp `{code}` (sudo mode): turns TOTP off, with a current code. */
export async function disableTotp(deps: Deps, principal: Principal, input: { code: string }, context: RequestContext): Promise<void> {
  await requireSudo(deps, principal);
  await acceptSecondFactor(deps, principal.userId, deps.keys.session(principal.userId, principal.sessionId), 'session', await judgeCode(deps, principal.userId, input), context);
  await runScript<number>(deps.redis, TOTP_SETTINGS, [deps.keys.user(principal.userId), deps.keys.session(principal.userId, principal.sessionId)], ['disable', '', '', '', deps.clock.now()]);
  deps.logger.event('mfa_disabled', context, { outcome: 'success', userId: principal.userId, sessionId: principal.sessionId });
  await securityChange(deps, principal, 'mfa_disabled', context);
}

/** POST /auth/mfa/recovery-codes (sudo mode): 10 new recovery codes; the old ones die. */
export async function regenerateRecoveryCodes(deps: Deps, principal: Principal, context: RequestContext): Promise<RecoveryCodes> {
  await requireSudo(deps, principal);
  const recoveryCodes = newRecoveryCodes();
  const done = await runScript<number>(deps.redis, TOTP_SETTINGS, [deps.keys.user(principal.userId), deps.keys.session(principal.userId, principal.sessionId)], [
    'codes', '', '', recoveryCodes.map(hashRecoveryCode).join(' '), deps.clock.now(),
  ]);
  if (done !== 1) throw new AuthError('invalid_request', 'No second factor is set up for this account.');
  deps.logger.event('recovery_codes_regenerated', context, { outcome: 'success', userId: principal.userId, sessionId: principal.sessionId });
  await recordSecurityEvent(deps, principal.userId, 'recovery_codes_regenerated', context, { sessionId: principal.sessionId });
  return { recoveryCodes };
}

export { mfaChallengeAnswer, newMfaChallenge, type MfaChallenge, type PendingLogin } from './challenge';
export { requireSudo } from './sudo';
