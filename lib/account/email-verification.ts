import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { mails } from '../mail/templates';
import { runScript } from '../store/redis';
import { VERIFY_EMAIL_TOKEN } from '../store/scripts/verify-email-token';
import { findUserById, type RegisteredUser } from '../users/users';
import { claimAccountToken, issueAccountToken, linkFor, parseAccountToken } from './account-tokens';
import { confirmEmailChange } from './email-change';
import { recordSecurityEvent } from '../security/events';
import { mailIfKnown, sendNotice, sendRequired } from './mail';
import { limitMail } from './mail-limits';

/** Issues a verification token for the user's current address and mails its link. */
async function mailVerification(deps: Deps, user: { id: string; email: string }): Promise<boolean> {
  const token = await issueAccountToken(deps, user.id, 'verify', user.email, deps.config.emailVerifyTtlSeconds);
  if (!token) return false;
  await deps.mailer.send(mails.verifyEmail(user.email, linkFor(deps.config.mail!.emailVerifyUrl, token), deps.config.emailVerifyTtlSeconds));
  return true;
}

/** After registration: the first verification link. A mail fault is logged and never fails the registration. */
export async function sendFirstVerification(deps: Deps, user: { id: string; email: string }, context: RequestContext): Promise<void> {
  try {
    if (await mailVerification(deps, user)) deps.logger.event('email_verification_sent', context, { outcome: 'success', userId: user.id });
  } catch (error) {
    deps.logger.error('mail_failed', error, { requestId: context.requestId });
    deps.logger.event('mail_failed', context, { outcome: 'failure', userId: user.id, reason: 'verification' });
  }
}

/**
 * POST /auth/email/verify/request (signed in): mails a new verification link, superseding
 * the last one. Already verified: nothing to send, the same 202. The mail is the purpose, so
 * a mail fault answers 503.
 */
export async function requestVerification(deps: Deps, userId: string, context: RequestContext): Promise<void> {
  const user = await findUserById(deps, userId);
  if (!user) throw new AuthError('invalid_token');
  await limitMail(deps, context, user.email);
  if (user.emailVerified) return;
  const token = await issueAccountToken(deps, user.id, 'verify', user.email, deps.config.emailVerifyTtlSeconds);
  if (!token) throw new AuthError('invalid_token');
  await sendRequired(deps, mails.verifyEmail(user.email, linkFor(deps.config.mail!.emailVerifyUrl, token), deps.config.emailVerifyTtlSeconds), context, user.id);
  deps.logger.event('email_verification_sent', context, { outcome: 'success', userId: user.id });
}

/**
 * POST /auth/email/verify/resend `{email}` (public): a new link for an unverified account;
 * the same 202 at about the same time whatever the address (no account, verified, a mail
 * fault). Limited per address and per IP.
 */
export function resendVerification(deps: Deps, input: { email: unknown }, context: RequestContext): Promise<void> {
  return mailIfKnown(deps, input, context, {
    send: async (credentials, email) => {
      const user = await findUserById(deps, credentials.id);
      if (user && !user.emailVerified && user.email === email && (await mailVerification(deps, user))) {
        deps.logger.event('email_verification_sent', context, { outcome: 'success', userId: user.id });
      }
    },
  });
}

/**
 * POST /auth/email/verify `{token}`: a verification link marks the account's address verified
 * (one atomic step: of two concurrent uses exactly one succeeds); an email-change link moves
 * the account to its new address, which is then verified. A bad, used, expired or superseded
 * token: `invalid_token`, nothing changed.
 */
export async function verifyEmail(deps: Deps, input: { token: unknown }, context: RequestContext): Promise<RegisteredUser> {
  const parsed = parseAccountToken(input.token);
  if (!parsed) throw new AuthError('invalid_token');
  const [outcome, email, createdAt, totp, passkeys] = await runScript<string[]>(
    deps.redis,
    VERIFY_EMAIL_TOKEN,
    [deps.keys.accountToken(parsed.userId, 'verify'), deps.keys.user(parsed.userId)],
    [parsed.secretHash, deps.clock.now()],
  );
  if (outcome === 'verified' && email && createdAt) {
    deps.logger.event('email_verified', context, { outcome: 'success', userId: parsed.userId });
    await recordSecurityEvent(deps, parsed.userId, 'email_verified', context);
    return { id: parsed.userId, email, emailVerified: true, mfa: { totp: totp === '1' }, passkeys: Number(passkeys ?? 0), createdAt };
  }
  const claim = await claimAccountToken(deps, parsed, 'email-change');
  if (!claim) throw new AuthError('invalid_token');
  const { user, previousEmail } = await confirmEmailChange(deps, claim, context);
  // The new address is verified by the link: in the account's activity as any verification.
  await recordSecurityEvent(deps, user.id, 'email_verified', context);
  await sendNotice(deps, mails.emailChanged(previousEmail), context, user.id);
  return user;
}
