import { logout } from '../lib/auth';
import { httpHandler, json, principalOf } from './http';

/** POST /auth/logout (behind the authorizer) → 204; the caller's session is revoked. */
export const handler = httpHandler({ parseBody: false }, async ({ event, deps, context }) => {
  await logout(deps, principalOf(event), context);
  return json(204);
});
