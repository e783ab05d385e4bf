import type { Deps } from '../deps';
import { StoreUnavailableError } from '../errors';
import type { RequestContext } from '../log';
import type { Principal } from '../auth';
import { appendRevocations } from '../sessions/revocation-stream';
import { readSessionIndex, revokeAllSessions } from '../sessions/sessions';
import { ACCOUNT_TOKEN_PURPOSES } from '../store/keys';
import { runScript } from '../store/redis';
import { DELETE_EMAIL_INDEX } from '../store/scripts/delete-email-index';
import { DELETE_USER } from '../store/scripts/delete-user';
import { normalizePassword } from '../users/passwords';
import { checkCallerPassword } from '../users/users';
import { requireSudo } from '../mfa/sudo';

const MAX_ATTEMPTS = 5;

/**
 * DELETE /auth/account `{password}` (signed in): with the right password, removes the user and
 * every key that holds the user's data, passkeys included ({@link removeUser}). A wrong password:
 * `invalid_credentials`, nothing changed.
 */
export async function deleteAccount(deps: Deps, principal: Principal, input: { password: unknown }, context: RequestContext): Promise<void> {
  const password = normalizePassword(input.password, false);
  await requireSudo(deps, principal);
  const { user } = await checkCallerPassword(deps, principal.userId, password);
  await removeUser(deps, user);
  deps.logger.event('account_deleted', context, { outcome: 'success', ...principal });
}

/**
 * Removes a user and every key that holds the user's data (the account deletion above, and
 * the admin Lambda's deleteUser): every session is revoked first (the security effect), then
 * the email index entry (the address can register again at once), then the user record, its
 * account tokens, its security events and its session index.
 */
export async function removeUser(deps: Deps, user: { id: string; email: string }): Promise<void> {
  await revokeAllSessions(deps, user.id);
  await runScript<number>(deps.redis, DELETE_EMAIL_INDEX, [deps.keys.emailIndex(user.email)], [user.id]);
  // The user's other keys: account tokens, passkeys and security events.
  const ownKeys = [...ACCOUNT_TOKEN_PURPOSES.map((purpose) => deps.keys.accountToken(user.id, purpose)), deps.keys.passkeys(user.id), deps.keys.securityEvents(user.id)];
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    // Sessions made meanwhile (none can be, with the password index gone, but a login that
    // read it just before may still land) are handed over too.
    const { ids, keys } = await readSessionIndex(deps, user.id);
    await appendRevocations(deps, { userId: user.id, sessionIds: ids });
    const [outcome] = await runScript<string[]>(deps.redis, DELETE_USER, [deps.keys.user(user.id), deps.keys.userSessions(user.id), ...ownKeys, ...keys], [ids.join(' ')]);
    if (outcome === 'deleted') return;
  }
  throw new StoreUnavailableError(new Error('the session index kept changing during account deletion'));
}
