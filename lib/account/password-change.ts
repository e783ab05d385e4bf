import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { securityEvent } from '../security/events';
import { sendSecurityNotice } from '../security/notices';
import type { Principal } from '../auth';
import { revokeAllSessions } from '../sessions/sessions';
import { runScript } from '../store/redis';
import { SET_PASSWORD_HASH } from '../store/scripts/set-password-hash';
import { hashPassword, normalizePassword } from '../users/passwords';
import { checkCallerPassword } from '../users/users';
import { requireSudo } from '../mfa/sudo';

/**
 * POST /auth/password/change `{currentPassword, newPassword}` (signed in): with the right
 * current password, sets the new one, keeps the caller's session and revokes every other,
 * and mails a notice. A wrong current password: `invalid_credentials`, nothing changed.
 */
export async function changePassword(
  deps: Deps,
  principal: Principal,
  input: { currentPassword: unknown; newPassword: unknown },
  context: RequestContext,
): Promise<void> {
  const current = normalizePassword(input.currentPassword, false);
  const next = normalizePassword(input.newPassword, true);
  await requireSudo(deps, principal);
  const { user, credentials } = await checkCallerPassword(deps, principal.userId, current);
  const passwordHash = await hashPassword(next, deps.config.bcryptCost);
  const replaced = await runScript<number>(deps.redis, SET_PASSWORD_HASH, [deps.keys.emailIndex(user.email)], [user.id, passwordHash, credentials.passwordHash]);
  if (replaced !== 1) throw new AuthError('invalid_token');
  // The security event goes in with the revocation's script (no extra request).
  const revoked = await revokeAllSessions(deps, user.id, { except: principal.sessionId, event: securityEvent(deps, 'password_changed', context, { sessionId: principal.sessionId }) });
  deps.logger.event('password_changed', context, { outcome: 'success', ...principal, reason: `${revoked} other sessions revoked` });
  await sendSecurityNotice(deps, 'password_changed', user.email, context, { userId: user.id });
}
