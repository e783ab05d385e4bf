import { logoutAll } from '../lib/auth';
import { clearRefreshCookie } from './refresh-cookie';
import { httpHandler, json, principalOf } from './http';

/** POST /auth/logout-all (behind the authorizer) → 204; every session of the caller is revoked. */
export const handler = httpHandler({ body: 'none', needs: { store: true } }, async ({ event, deps, context }) => {
  await logoutAll(deps, principalOf(event), context);
  return json(204, undefined, {}, [clearRefreshCookie()]);
});
