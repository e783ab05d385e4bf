import { me } from '../lib/auth';
import { httpHandler, json, principalOf } from './http';

/** GET /auth/me (behind the authorizer) → 200 `{user:{id,email}, session:{id}}`. */
export const handler = httpHandler({ body: 'none', needs: { store: true } }, async ({ event, deps }) => {
  return json(200, await me(deps, principalOf(event)));
});
