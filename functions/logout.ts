import { logout } from '../lib/auth';
import { clearRefreshCookie } from './refresh-cookie';
import { httpHandler, json, principalOf } from './http';

/** POST /auth/logout (behind the authorizer) → 204; the caller's session is revoked and its cookie cleared. */
export const handler = httpHandler({ body: 'none', needs: { store: true } }, async ({ event, deps, context }) => {
  await logout(deps, principalOf(event), context);
  return json(204, undefined, {}, [clearRefreshCookie()]);
});
