import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { mails } from '../mail/templates';
import { USER_FIELDS } from '../store/schema';
import { guardStore, runScript } from '../store/redis';
import { CLAIM_EMAIL } from '../store/scripts/claim-email';
import { DELETE_EMAIL_INDEX } from '../store/scripts/delete-email-index';
import { normalizePassword } from '../users/passwords';
import { checkCallerPassword, findCredentials, findUserById, normalizeEmail, type RegisteredUser } from '../users/users';
import { issueAccountToken, linkFor, withClaim, type ClaimedToken } from './account-tokens';
import { sendRequired } from './mail';
import type { Principal } from '../auth';
import { requireSudo } from '../mfa/sudo';
import { limitMail } from './mail-limits';

/**
 * POST /auth/email/change `{newEmail, password}` (signed in): with the right password, mails a
 * confirmation link to the new address; the account moves only when that link is used
 * (POST /auth/email/verify). An address that belongs to another account answers the same 202
 * and mails its owner instead, so the answer never tells whether an address is taken. The
 * mail is the purpose: a mail fault answers 503.
 */
export async function requestEmailChange(deps: Deps, principal: Principal, input: { newEmail: unknown; password: unknown }, context: RequestContext): Promise<void> {
  const userId = principal.userId;
  const newEmail = normalizeEmail(input.newEmail);
  const password = normalizePassword(input.password, false);
  await requireSudo(deps, principal);
  const { user } = await checkCallerPassword(deps, userId, password, (found) => {
    if (newEmail === found.email) throw new AuthError('invalid_request', 'newEmail is already the address of the account.');
  });
  await limitMail(deps, context, newEmail);

  const owner = await findCredentials(deps.redis, deps.keys, newEmail);
  if (owner) {
    await sendRequired(deps, mails.emailInUse(newEmail), context, userId);
  } else {
    const token = await issueAccountToken(deps, userId, 'email-change', newEmail, deps.config.emailVerifyTtlSeconds, user.email);
    if (!token) throw new AuthError('invalid_token');
    await sendRequired(deps, mails.confirmNewEmail(newEmail, linkFor(deps.config.mail!.emailVerifyUrl, token), deps.config.emailVerifyTtlSeconds), context, userId);
  }
  deps.logger.event('email_change_requested', context, { outcome: 'success', userId });
}

/**
 * Moves the account to the address a claimed email-change token was mailed to: claims the new
 * address in the email index (with the password hash), points the user record at it (now
 * verified), then drops the old address. Each step is idempotent, so a retry after a fault
 * (the claim is released) picks up where it stopped; an address taken meanwhile answers
 * `email_taken` and changes nothing.
 */
export async function confirmEmailChange(deps: Deps, claim: ClaimedToken, context: RequestContext): Promise<{ user: RegisteredUser; previousEmail: string }> {
  return withClaim(claim, async () => {
    const user = await findUserById(deps, claim.userId);
    if (!user) throw new AuthError('invalid_token');
    // The address the link was asked from (kept in the token, so a retry after a fault between
    // the steps below still drops it).
    const previousEmail = claim.previousEmail || user.email;
    const moved: RegisteredUser = { ...user, email: claim.email, emailVerified: true };
    if (user.email !== claim.email) {
      const credentials = await findCredentials(deps.redis, deps.keys, user.email);
      if (!credentials || credentials.id !== claim.userId) throw new AuthError('invalid_token');
      const claimed = await runScript<number>(deps.redis, CLAIM_EMAIL, [deps.keys.emailIndex(claim.email)], [claim.userId, credentials.passwordHash]);
      if (claimed !== 1) throw new AuthError('email_taken');
      await guardStore(() => deps.redis.hset(deps.keys.user(claim.userId), { [USER_FIELDS.email]: claim.email, [USER_FIELDS.emailVerified]: '1' }));
    }
    if (previousEmail !== claim.email) await runScript<number>(deps.redis, DELETE_EMAIL_INDEX, [deps.keys.emailIndex(previousEmail)], [claim.userId]);
    deps.logger.event('email_changed', context, { outcome: 'success', userId: claim.userId });
    return { user: moved, previousEmail };
  });
}
