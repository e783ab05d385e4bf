import type { Context } from 'aws-lambda';
import { deleteUser, disableUser, enableUser, getUserByEmail, getUserById, listUserSessions, revokeUserSessions } from '../lib/admin/admin';
import { AuthError, StoreUnavailableError, type ErrorCode } from '../lib/errors';
import type { RequestContext } from '../lib/log';
import { initDeps, logError } from './cold-start';

/** Redis only: no signing key, no mail. */
const depsPromise = initDeps({ store: true });

const ACTIONS = ['getUser', 'listSessions', 'revokeSessions', 'disableUser', 'enableUser', 'deleteUser'] as const;
type Action = (typeof ACTIONS)[number];
const USER_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const MAX_ACTOR = 200;
const MAX_REASON = 200;

export type AdminResult = Record<string, unknown> | { error: ErrorCode; message: string };

/**
 * The admin Lambda (SPEC "Administration"): no HTTP route; other services invoke it with the
 * AWS SDK, and IAM decides who may (serverless.yml, ADMIN_INVOKER_ARNS). Payload
 * `{action, actor, ...}`. Answers the action's result, or `{error, message}` with the
 * contract's codes (bad input, unknown user, Redis down); it never throws, and no stack trace
 * leaves it. Every invocation is one audit log line (`admin_action`) naming the actor.
 */
export const handler = async (payload: unknown, lambdaContext?: Context): Promise<AdminResult> => {
  const context: RequestContext = { ip: '', userAgent: '', requestId: lambdaContext?.awsRequestId ?? '' };
  let audit: { actor?: string; action?: string; userId?: string } = {};
  try {
    const request = parse(payload);
    audit = { actor: request.actor, action: request.action, ...(request.userId ? { userId: request.userId } : {}) };
    const deps = await depsPromise;
    const result = await run(request);
    deps.logger.event('admin_action', context, { outcome: 'success', ...audit, ...('user' in result ? { userId: (result.user as { id: string }).id } : {}) });
    return result;
  } catch (error) {
    const failure = error instanceof AuthError ? error : new AuthError('internal_error');
    if (!(error instanceof AuthError) || error instanceof StoreUnavailableError) await logError(failure.code === 'internal_error' ? 'internal_error' : 'store_fault', error, context.requestId);
    const deps = await depsPromise.catch(() => undefined);
    deps?.logger.event('admin_action', context, { outcome: 'failure', ...audit, reason: failure.code });
    return { error: failure.code, message: failure.message };
  }

  async function run(request: AdminRequest): Promise<Record<string, unknown>> {
    const deps = await depsPromise;
    const userId = request.userId ?? '';
    switch (request.action) {
      case 'getUser':
        return { user: request.email !== undefined ? await getUserByEmail(deps, request.email) : await getUserById(deps, userId) };
      case 'listSessions':
        return { sessions: await listUserSessions(deps, userId) };
      case 'revokeSessions':
        return { revoked: await revokeUserSessions(deps, userId) };
      case 'disableUser':
        return { user: await disableUser(deps, userId, request.reason ?? '') };
      case 'enableUser':
        return { user: await enableUser(deps, userId) };
      case 'deleteUser':
        await deleteUser(deps, userId);
        return { deleted: true };
    }
  }
};

interface AdminRequest {
  action: Action;
  actor: string;
  userId?: string;
  email?: string;
  reason?: string;
}

/** The payload checked field by field: `invalid_request` naming the field. */
function parse(payload: unknown): AdminRequest {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new AuthError('invalid_request', 'The payload must be a JSON object {action, actor, ...}.');
  const input = payload as Record<string, unknown>;
  const action = input.action;
  if (typeof action !== 'string' || !(ACTIONS as readonly string[]).includes(action)) throw new AuthError('invalid_request', `action must be one of ${ACTIONS.join(', ')}.`);
  const actor = input.actor;
  if (typeof actor !== 'string' || actor.trim() === '' || actor.length > MAX_ACTOR) throw new AuthError('invalid_request', `actor (who asks) is required: a non-empty string of at most ${MAX_ACTOR} characters.`);
  const request: AdminRequest = { action: action as Action, actor: actor.trim() };
  if (action === 'getUser' && input.email !== undefined && input.userId === undefined) {
    if (typeof input.email !== 'string') throw new AuthError('invalid_request', 'email must be a string.');
    return { ...request, email: input.email };
  }
  if (typeof input.userId !== 'string' || !USER_ID_PATTERN.test(input.userId)) {
    throw new AuthError('invalid_request', action === 'getUser' ? 'userId (a user id) or email is required.' : 'userId (a user id) is required.');
  }
  request.userId = input.userId;
  if (action === 'disableUser' && input.reason !== undefined) {
    if (typeof input.reason !== 'string' || input.reason.length > MAX_REASON) throw new AuthError('invalid_request', `reason must be a string of at most ${MAX_REASON} characters.`);
    request.reason = input.reason;
  }
  return request;
}
