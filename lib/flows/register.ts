import { sendFirstVerification } from '../account/email-verification';
import type { Deps } from '../deps';
import type { RequestContext } from '../log';
import { normalizePassword } from '../users/passwords';
import { normalizeEmail, registerUser, type RegisteredUser } from '../users/users';
import { limit } from './limit';

/**
 * Registers a user, limited per client IP. Fails with `rate_limited`, `invalid_request` or
 * `email_taken`.
 */
export async function register(
  deps: Deps,
  input: { email: unknown; password: unknown },
  context: RequestContext,
): Promise<RegisteredUser> {
  // Bad input is refused before it costs a store request or a unit of the limit.
  normalizeEmail(input.email);
  normalizePassword(input.password, true);
  await limit(deps, context, 'register', [{ name: 'registerPerIp', identifier: context.ip }]);
  const user = await registerUser(deps, input, context);
  await sendFirstVerification(deps, user, context);
  return user;
}

