import { AuthError } from '../lib/errors';
import { login } from '../lib/auth';
import { httpHandler, json, requireObject, requireString } from './http';

/** POST /auth/login `{email, password, device?:{name?}}` → 200 token response. */
export const handler = httpHandler<unknown>({ parseBody: true }, async ({ body, deps, context }) => {
  const input = requireObject(body);
  const email = requireString(input, 'email');
  const password = requireString(input, 'password');
  let deviceName: string | undefined;
  if (Object.hasOwn(input, 'device') && input.device !== undefined && input.device !== null) {
    const device = requireObject(input.device, 'device');
    const name = Object.hasOwn(device, 'name') ? device.name : undefined;
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw new AuthError('invalid_request', 'device.name must be a string.');
    }
    deviceName = name ?? undefined;
  }
  return json(200, await login(deps, { email, password, deviceName }, context));
});
