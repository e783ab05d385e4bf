import { removeUser } from '../account/account-deletion';
import type { Deps } from '../deps';
import { AuthError } from '../errors';
import { securityEvent, securityEventArgs } from '../security/events';
import { revokeUserTokensBefore } from '../sessions/revocation-stream';
import type { Session } from '../../client/src/contract';
import { listSessions, revokeAllSessions } from '../sessions/sessions';
import { readHashFields, runScript } from '../store/redis';
import { USER_FIELDS } from '../store/schema';
import { SET_USER_DISABLED } from '../store/scripts/set-user-disabled';
import { findCredentials, normalizeEmail, readUser, type RegisteredUser } from '../users/users';

/**
 * The admin Lambda's actions (SPEC "Administration"): other services, authorized by IAM, look
 * users up, list and revoke their sessions, disable, enable and delete them. Each action is
 * one audit log line naming the `actor` (functions/admin.ts logs it); the user's own security
 * events show what concerns them (sessions revoked, account disabled or enabled), from
 * "administrator", without the actor's name.
 */

/** The admin view of a user: the contract's `user`, and whether it is disabled and when it last signed in. */
export interface AdminUser extends RegisteredUser {
  disabled: boolean;
  /** Why, when an admin gave a reason. */
  disabledReason?: string;
  /** ISO 8601, `null` before the first login. */
  lastLoginAt: string | null;
}

/** How an admin action appears in the user's own activity: no IP, no device, "administrator". */
const ADMIN_ORIGIN = { ip: '', userAgent: 'administrator' };

/** A user by id, with the admin fields; `not_found` when there is none. One store request (pipelined). */
export async function getUserById(deps: Deps, userId: string): Promise<AdminUser> {
  const [user, [disabled, reason, lastLogin]] = await Promise.all([
    readUser(deps.pipelinedRedis, deps.keys, userId),
    readHashFields(deps.pipelinedRedis, deps.keys.user(userId), [USER_FIELDS.disabled, USER_FIELDS.disabledReason, USER_FIELDS.lastLoginAt]),
  ]);
  if (!user) throw new AuthError('not_found', 'No such user.');
  return {
    ...user,
    disabled: disabled === '1',
    ...(disabled === '1' && reason ? { disabledReason: reason } : {}),
    lastLoginAt: lastLogin ? new Date(Number(lastLogin)).toISOString() : null,
  };
}

/** A user by (normalized) email; `not_found` when no account has it. Two store requests. */
export async function getUserByEmail(deps: Deps, email: string): Promise<AdminUser> {
  const credentials = await findCredentials(deps.redis, deps.keys, normalizeEmail(email));
  if (!credentials) throw new AuthError('not_found', 'No such user.');
  return getUserById(deps, credentials.id);
}

/** The user's live sessions, newest first (`current` is false for all: no session asks). */
export async function listUserSessions(deps: Deps, userId: string): Promise<Session[]> {
  await getUserById(deps, userId);
  return listSessions(deps, userId, '');
}

/** Revokes every session of the user; how many. */
export async function revokeUserSessions(deps: Deps, userId: string): Promise<number> {
  await getUserById(deps, userId);
  return revokeAllSessions(deps, userId, { event: securityEvent(deps, 'sessions_revoked', ADMIN_ORIGIN) });
}

/**
 * Disables the user: the flag first (from then on no session can be created: login answers
 * `account_disabled` after a correct password), then every session is revoked at once (their
 * access tokens are refused by the authorizer's next read, their refresh tokens answer
 * `invalid_token`). Repeating it is harmless (a retry after a fault finishes the revocation).
 */
export async function disableUser(deps: Deps, userId: string, reason: string): Promise<AdminUser> {
  await setDisabled(deps, userId, true, reason);
  // Stream mode: every token of the user issued until now is revoked by one user-level entry,
  // before the sessions go (a no-op in strict mode, where the sessions' removal is enough).
  await revokeUserTokensBefore(deps, userId);
  await revokeAllSessions(deps, userId);
  return getUserById(deps, userId);
}

/** Enables the user again (clears the flag); sessions are not brought back. */
export async function enableUser(deps: Deps, userId: string): Promise<AdminUser> {
  await setDisabled(deps, userId, false, '');
  return getUserById(deps, userId);
}

/** Deletes the user as the account deletion does: every key of the user goes. */
export async function deleteUser(deps: Deps, userId: string): Promise<void> {
  const user = await getUserById(deps, userId);
  await revokeUserTokensBefore(deps, userId);
  await removeUser(deps, user);
}

async function setDisabled(deps: Deps, userId: string, disabled: boolean, reason: string): Promise<void> {
  const event = securityEvent(deps, disabled ? 'account_disabled' : 'account_enabled', ADMIN_ORIGIN);
  const found = await runScript<number>(deps.redis, SET_USER_DISABLED, [deps.keys.user(userId), deps.keys.securityEvents(userId)], [
    disabled ? '1' : '0',
    reason,
    ...securityEventArgs(deps, event),
  ]);
  if (found !== 1) throw new AuthError('not_found', 'No such user.');
}
