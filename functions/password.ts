import { createMailer } from '../lib/mail/mailer';
import { changePassword } from '../lib/account/password-change';
import { forgotPassword, resetPassword } from '../lib/account/password-reset';
import { AuthError } from '../lib/errors';
import { httpHandler, json, principalOf, requireObject, requireString, routeOf } from './http';

/**
 * The password routes:
 * - POST /auth/password/forgot `{email}` → 202, whatever the address;
 * - POST /auth/password/reset `{token, password}` → 204, every session revoked;
 * - POST /auth/password/change `{currentPassword, newPassword}` (authorizer) → 204, every
 *   other session revoked.
 */
export const handler = httpHandler<unknown>({ body: 'required', needs: { store: true, mail: true }, createMailer }, async ({ event, body, deps, context }) => {
  const input = requireObject(body);
  switch (routeOf(event)) {
    case 'POST /auth/password/forgot':
      await forgotPassword(deps, { email: requireString(input, 'email') }, context);
      return json(202);
    case 'POST /auth/password/reset':
      await resetPassword(deps, { token: requireString(input, 'token'), password: requireString(input, 'password') }, context);
      return json(204);
    case 'POST /auth/password/change':
      await changePassword(deps, principalOf(event), { currentPassword: requireString(input, 'currentPassword'), newPassword: requireString(input, 'newPassword') }, context);
      return json(204);
    default:
      throw new AuthError('not_found');
  }
});
