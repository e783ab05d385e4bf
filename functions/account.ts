import { deleteAccount } from '../lib/account/account-deletion';
import { clearRefreshCookie } from './refresh-cookie';
import { httpHandler, json, principalOf, requireObject, requireString } from './http';

/** DELETE /auth/account `{password}` (authorizer) → 204: the user and all its data are gone. */
export const handler = httpHandler<unknown>({ body: 'required', needs: { store: true } }, async ({ event, body, deps, context }) => {
  await deleteAccount(deps, principalOf(event), { password: requireString(requireObject(body), 'password') }, context);
  return json(204, undefined, {}, [clearRefreshCookie()]);
});
