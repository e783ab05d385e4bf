import { createMailer } from '../lib/mail/mailer';
import { login } from '../lib/auth';
import { AuthError } from '../lib/errors';
import type { RefreshTransport } from './refresh-cookie';
import { httpHandler, json, requireObject, requireString, tokenResponse } from './http';

/**
 * POST /auth/login `{email, password, device?:{name?}, transport?:"body"|"cookie"}` → 200 token
 * response (with the cookie transport the refresh token is only in an HttpOnly cookie), or, for
 * an account with TOTP on, 200 `{mfaRequired, mfaToken, methods, expiresIn}` and no tokens.
 */
export const handler = httpHandler<unknown>({ body: 'required', needs: { store: true, sign: true, mail: true }, createMailer }, async ({ body, deps, context }) => {
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
  const transport = Object.hasOwn(input, 'transport') ? input.transport : deps.config.defaultRefreshTransport;
  if (transport !== 'body' && transport !== 'cookie') {
    throw new AuthError('invalid_request', 'transport must be "body" or "cookie".');
  }
  const result = await login(deps, { email, password, deviceName, transport }, context, { allowMfa: true });
  // TOTP on: the MFA challenge, no tokens; POST /auth/mfa/verify finishes the login.
  if ('mfaRequired' in result) return json(200, result);
  return tokenResponse(result, transport satisfies RefreshTransport);
});
