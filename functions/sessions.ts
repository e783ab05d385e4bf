import { listMySessions, revokeMySession } from '../lib/auth';
import { AuthError } from '../lib/errors';
import { clearRefreshCookie } from './refresh-cookie';
import { httpHandler, json, principalOf } from './http';

const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * GET /auth/sessions → 200 `{sessions}` (the caller's only; query parameters are ignored).
 * DELETE /auth/sessions/{id} → 204, or 404 when it is not a live session of the caller's.
 */
export const handler = httpHandler({ body: 'none', needs: { store: true } }, async ({ event, deps, context }) => {
  const principal = principalOf(event);
  if (event.requestContext.http.method === 'DELETE') {
    const id = event.pathParameters?.id ?? '';
    // A malformed id cannot name a session: the same 404 as an unknown one.
    if (!SESSION_ID_PATTERN.test(id)) throw new AuthError('not_found', 'No such session.');
    await revokeMySession(deps, principal, id, context);
    // Deleting one's own session is a logout: the browser's refresh cookie goes too.
    return json(204, undefined, {}, id === principal.sessionId ? [clearRefreshCookie()] : undefined);
  }
  return json(200, { sessions: await listMySessions(deps, principal) });
});
