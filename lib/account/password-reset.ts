import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { mails } from '../mail/templates';
import { securityEvent } from '../security/events';
import { sendSecurityNotice } from '../security/notices';
import { revokeAllSessions } from '../sessions/sessions';
import { runScript } from '../store/redis';
import { SET_PASSWORD_HASH } from '../store/scripts/set-password-hash';
import { hashPassword, normalizePassword } from '../users/passwords';
import { claimAccountToken, issueAccountToken, linkFor, parseAccountToken, withClaim } from './account-tokens';
import { mailIfKnown } from './mail';

/**
 * POST /auth/password/forgot: mails a reset link when the address has an account. The same
 * 202, at about the same time (MAIL_RESPONSE_FLOOR_MS), whether or not it has one, and
 * whether or not the mail went out (a mail fault is logged). Limited per address and per IP
 * (RATE_LIMIT_MAIL_*), known or not.
 */
export function forgotPassword(deps: Deps, input: { email: unknown }, context: RequestContext): Promise<void> {
  return mailIfKnown(deps, input, context, {
    found: (credentials) => deps.logger.event('password_reset_requested', context, { outcome: 'success', ...(credentials ? { userId: credentials.id } : {}) }),
    send: async (credentials, email) => {
      const token = await issueAccountToken(deps, credentials.id, 'reset', email, deps.config.passwordResetTtlSeconds);
      if (!token) return;
      await deps.mailer.send(mails.passwordReset(email, linkFor(deps.config.mail!.passwordResetUrl, token), deps.config.passwordResetTtlSeconds));
    },
  });
}

/**
 * POST /auth/password/reset `{token, password}`: sets the new password and revokes every
 * session of the user. The token is claimed first (of two concurrent uses exactly one goes
 * on), deleted once the password is set, and released if anything fails, so no link is left
 * used up by a request that failed. A bad, used or expired token: `invalid_token`.
 */
export async function resetPassword(deps: Deps, input: { token: unknown; password: unknown }, context: RequestContext): Promise<void> {
  const password = normalizePassword(input.password, true);
  const parsed = parseAccountToken(input.token);
  if (!parsed) throw new AuthError('invalid_token');
  // Claimed before the bcrypt: a made-up token costs no hashing (the claim outlives a bcrypt).
  const claim = await claimAccountToken(deps, parsed, 'reset');
  if (!claim) throw new AuthError('invalid_token');
  const revoked = await withClaim(claim, async () => {
    const passwordHash = await hashPassword(password, deps.config.bcryptCost);
    // The address the link was mailed to must still be this user's.
    const replaced = await runScript<number>(deps.redis, SET_PASSWORD_HASH, [deps.keys.emailIndex(claim.email)], [claim.userId, passwordHash, '']);
    if (replaced !== 1) throw new AuthError('invalid_token');
    // Inside the claim: if revoking faults, the link still works for a retry, which revokes them.
    return revokeAllSessions(deps, claim.userId, { event: securityEvent(deps, 'password_reset', context) });
  });
  deps.logger.event('password_reset', context, { outcome: 'success', userId: claim.userId, reason: `${revoked} sessions revoked` });
  await sendSecurityNotice(deps, 'password_reset', claim.email, context, { userId: claim.userId });
}
