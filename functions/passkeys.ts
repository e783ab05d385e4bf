import { AuthError } from '../lib/errors';
import { createMailer } from '../lib/mail/mailer';
import { deletePasskey, listPasskeys, passkeyLogin, passkeyLoginOptions, passkeyRegistrationOptions, registerPasskey } from '../lib/passkeys/passkeys';
import { httpHandler, json, principalOf, requireDeviceName, requireObject, requireString, requireTransport, routeOf, tokenResponse } from './http';

/**
 * The passkey routes (SPEC "Passkeys"):
 * - POST /auth/passkeys/register/options (authorizer; sudo mode with MFA on) → 200 creation options;
 * - POST /auth/passkeys/register `{response, name?}` (authorizer; sudo mode) → 201 `{passkey}`;
 * - GET /auth/passkeys (authorizer) → 200 `{passkeys}`;
 * - DELETE /auth/passkeys/{id} (authorizer; sudo mode) → 204, 404 if not the caller's;
 * - POST /auth/passkeys/login/options `{email?}` → 200 request options with a `challengeId`;
 * - POST /auth/passkeys/login `{challengeId, response, device?, transport?}` → 200 token response.
 */
export const handler = httpHandler<unknown>({ body: 'optional', needs: { store: true, sign: true, mail: true, webauthn: true }, createMailer }, async ({ event, body, deps, context }) => {
  const route = routeOf(event);
  switch (route) {
    case 'POST /auth/passkeys/register/options':
      return json(200, await passkeyRegistrationOptions(deps, principalOf(event)));
    case 'POST /auth/passkeys/register': {
      const input = requireObject(body);
      const name = Object.hasOwn(input, 'name') && input.name !== null ? input.name : undefined;
      if (name !== undefined && typeof name !== 'string') throw new AuthError('invalid_request', 'name must be a string.');
      const passkey = await registerPasskey(deps, principalOf(event), { response: requireObject(input.response, 'response'), ...(name ? { name } : {}) }, context);
      return json(201, { passkey });
    }
    case 'GET /auth/passkeys':
      return json(200, { passkeys: await listPasskeys(deps, principalOf(event)) });
    case 'POST /auth/passkeys/login/options': {
      const input = body === undefined ? {} : requireObject(body);
      const email = Object.hasOwn(input, 'email') && input.email !== null ? requireString(input, 'email') : undefined;
      return json(200, await passkeyLoginOptions(deps, email === undefined ? {} : { email }, context));
    }
    case 'POST /auth/passkeys/login': {
      const input = requireObject(body);
      const transport = requireTransport(input, deps.config.defaultRefreshTransport);
      const tokens = await passkeyLogin(deps, {
        challengeId: requireString(input, 'challengeId'),
        response: requireObject(input.response, 'response'),
        deviceName: requireDeviceName(input),
        transport,
      }, context);
      return tokenResponse(tokens, transport);
    }
    default:
      if (route.startsWith('DELETE /auth/passkeys/')) {
        await deletePasskey(deps, principalOf(event), event.pathParameters?.id ?? '', context);
        return json(204);
      }
      throw new AuthError('not_found');
  }
});
