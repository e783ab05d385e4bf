import { createMailer } from '../lib/mail/mailer';
import { requestEmailChange } from '../lib/account/email-change';
import { requestVerification, resendVerification, verifyEmail } from '../lib/account/email-verification';
import { AuthError } from '../lib/errors';
import { httpHandler, json, principalOf, requireObject, requireString, routeOf } from './http';

/**
 * The email routes:
 * - POST /auth/email/verify/request (authorizer) → 202, a new verification link mailed;
 * - POST /auth/email/verify `{token}` → 200 `{user}`, verified (or moved to its new address);
 * - POST /auth/email/verify/resend `{email}` → 202, whatever the address;
 * - POST /auth/email/change `{newEmail, password}` (authorizer) → 202, a confirmation link
 *   mailed to the new address.
 */
export const handler = httpHandler<unknown>({ body: 'optional', needs: { store: true, mail: true }, createMailer }, async ({ event, body, deps, context }) => {
  switch (routeOf(event)) {
    case 'POST /auth/email/verify/request':
      await requestVerification(deps, principalOf(event).userId, context);
      return json(202);
    case 'POST /auth/email/verify': {
      const user = await verifyEmail(deps, { token: requireString(requireObject(body), 'token') }, context);
      return json(200, { user });
    }
    case 'POST /auth/email/verify/resend':
      await resendVerification(deps, { email: requireString(requireObject(body), 'email') }, context);
      return json(202);
    case 'POST /auth/email/change': {
      const input = requireObject(body);
      await requestEmailChange(deps, principalOf(event), { newEmail: requireString(input, 'newEmail'), password: requireString(input, 'password') }, context);
      return json(202);
    }
    default:
      throw new AuthError('not_found');
  }
});
