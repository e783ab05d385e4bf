import { refresh } from '../lib/auth';
import { httpHandler, json, requireObject, requireString } from './http';

/** POST /auth/refresh `{refreshToken}` → 200 token response with a rotated refresh token. */
export const handler = httpHandler<unknown>({ parseBody: true }, async ({ body, deps, context }) => {
  const refreshToken = requireString(requireObject(body), 'refreshToken');
  return json(200, await refresh(deps, refreshToken, context));
});
