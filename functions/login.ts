import { createMailer } from '../lib/mail/mailer';
import { login } from '../lib/auth';
import type { RefreshTransport } from './refresh-cookie';
import { httpHandler, json, requireDeviceName, requireObject, requireString, requireTransport, tokenResponse } from './http';

/**
 * POST /auth/login `{email, password, device?:{name?}, transport?:"body"|"cookie"}` → 200 token
 * response (with the cookie transport the refresh token is only in an HttpOnly cookie), or, for
 * an account with TOTP on, 200 `{mfaRequired, mfaToken, methods, expiresIn}` and no tokens.
 */
export const handler = httpHandler<unknown>({ body: 'required', needs: { store: true, sign: true, mail: true }, createMailer }, async ({ body, deps, context }) => {
  const input = requireObject(body);
  const email = requireString(input, 'email');
  const password = requireString(input, 'password');
  const deviceName = requireDeviceName(input);
  const transport = requireTransport(input, deps.config.defaultRefreshTransport);
  const result = await login(deps, { email, password, deviceName, transport }, context, { allowMfa: true });
  // TOTP on: the MFA challenge, no tokens; POST /auth/mfa/verify finishes the login.
  if ('mfaRequired' in result) return json(200, result);
  return tokenResponse(result, transport satisfies RefreshTransport);
});
