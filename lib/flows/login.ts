import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { mfaChallengeAnswer, newMfaChallenge, type MfaChallenge } from '../mfa/challenge';
import type { Attempt } from '../rate-limit';
import { recordSecurityEvent } from '../security/events';
import { sendSecurityNotice } from '../security/notices';
import { openSession, sanitizeDeviceName } from '../sessions/sessions';
import { issueTokens, type TokenResponse } from '../tokens/token-response';
import { normalizePassword } from '../users/passwords';
import { checkPassword, findCredentials, normalizeEmail, recognizeDevice, rememberDevice, upgradePasswordHash } from '../users/users';
import { limit } from './limit';

export interface LoginInput {
  email: unknown;
  password: unknown;
  deviceName?: string;
  /** Where the refresh token is to go (kept by an MFA challenge for its verify step). */
  transport?: string;
}

/**
 * Checks the credentials and opens a session. Fails with `rate_limited`, `invalid_credentials`
 * (unknown email and wrong password alike) or `invalid_request`. Two store requests either
 * way: the limits with the user lookup (pipelined), then the session's creation (with the
 * device remembered, pipelined) or the failure's count.
 *
 * Limits (lib/rate-limit.ts), all checked before any password work, so while limited even the
 * right password is refused:
 * - attempts per client IP;
 * - failures of this account from this IP (a guesser is stopped, the owner elsewhere is not);
 * - failures of this account from all IPs (distributed guessing), except from a device that
 *   signed in to it before: failures elsewhere never lock the owner out of a known device.
 * Unknown emails are counted like real ones, so the limits do not tell them apart.
 */
export async function login(deps: Deps, input: LoginInput, context: RequestContext): Promise<TokenResponse>;
export async function login(deps: Deps, input: LoginInput, context: RequestContext, options: { allowMfa: true }): Promise<TokenResponse | MfaChallenge>;
export async function login(deps: Deps, input: LoginInput, context: RequestContext, options: { allowMfa?: boolean } = {}): Promise<TokenResponse | MfaChallenge> {
  const email = normalizeEmail(input.email);
  const password = normalizePassword(input.password, false);
  const failures: Attempt[] = [
    { name: 'loginFailuresPerAccountIp', identifier: `${email} ${context.ip}` },
    { name: 'loginFailuresPerAccount', identifier: email },
  ];
  // One pipelined request; a failed request fails all: 503, never a pass.
  const [, limited, credentials] = await Promise.all([
    limit(deps, context, 'login', [{ name: 'loginPerIp', identifier: context.ip }]),
    deps.rateLimiter.peek(failures, deps.clock.now()),
    findCredentials(deps.pipelinedRedis, deps.keys, email),
  ]);
  const device = recognizeDevice(deps.config, credentials?.knownDevices ?? [], context.ip);
  if (limited.exhausted.has('loginFailuresPerAccountIp') || (limited.exhausted.has('loginFailuresPerAccount') && !device.known)) {
    deps.logger.event('rate_limited', context, { outcome: 'denied', reason: 'login' });
    throw new AuthError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(limited.retryAfterMs / 1000)) });
  }

  const user = await checkPassword(deps, credentials, password);
  if (!user || !credentials) {
    // The account's own activity shows a failed attempt (only when there is an account), sent
    // in the same pipeline as the failure counters: still one request.
    await Promise.all([
      deps.rateLimiter.record(failures),
      credentials ? recordSecurityEvent(deps, credentials.id, 'login_failed', context, { deviceName: sanitizeDeviceName(input.deviceName ?? '') }, { redis: deps.pipelinedRedis }) : undefined,
    ]);
    deps.logger.event('login_failed', context, { outcome: 'failure', reason: 'invalid_credentials' });
    throw new AuthError('invalid_credentials');
  }
  await upgradePasswordHash(deps, credentials, password);
  const sessionDevice = { name: input.deviceName ?? '', userAgent: context.userAgent, ip: context.ip };
  // With TOTP on, the same step stores an MFA challenge instead of a session (SPEC).
  const challenge = newMfaChallenge(deps, user.id);
  const [session] = await Promise.all([
    openSession(deps, user, sessionDevice, {
      redis: deps.pipelinedRedis,
      challenge: { key: challenge.key, login: JSON.stringify({ device: sessionDevice, transport: input.transport ?? 'body' }) },
      ...(input.transport ? { transport: input.transport } : {}),
    }).catch((error: unknown) => {
      if (error instanceof AuthError && error.code === 'account_disabled') deps.logger.event('login_failed', context, { outcome: 'denied', userId: user.id, reason: 'account_disabled' });
      throw error;
    }),
    device.current ? undefined : rememberDevice(deps.pipelinedRedis, deps.keys, credentials, device.tag),
  ]);
  // A correct password from a device (client IP) the account has not seen among its last
  // known ones: a notice (not for the account's very first sign-in). Before the second factor,
  // so a stolen password alone is reported too.
  if (device.isNew) {
    await sendSecurityNotice(deps, 'new_device', user.email, context, { deviceName: sanitizeDeviceName(sessionDevice.name), userId: user.id });
  }
  if ('mfaRequired' in session) {
    deps.logger.event('login_ok', context, { outcome: 'success', userId: user.id, reason: 'mfa_required' });
    if (!options.allowMfa) throw new AuthError('invalid_request', 'This account has a second factor: sign in through POST /auth/login and /auth/mfa/verify.');
    return mfaChallengeAnswer(challenge.token, session);
  }
  deps.logger.event('login_ok', context, { outcome: 'success', userId: user.id, sessionId: session.sessionId });
  for (const evicted of session.evicted) {
    deps.logger.event('session_evicted', context, { outcome: 'success', userId: user.id, sessionId: evicted, reason: 'max_sessions' });
  }
  return issueTokens(deps, session);
}

