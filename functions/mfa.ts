import { createMailer } from '../lib/mail/mailer';
import { AuthError } from '../lib/errors';
import { confirmTotp, disableTotp, enrollTotp, regenerateRecoveryCodes, stepUp, verifyMfa, type SecondFactorInput } from '../lib/mfa/mfa';
import { httpHandler, json, principalOf, requireObject, requireString, routeOf, tokenResponse } from './http';

/** `{code}` or `{recoveryCode}` (exactly one), as a second factor. */
function secondFactor(body: unknown): SecondFactorInput {
  const input = requireObject(body);
  const hasCode = Object.hasOwn(input, 'code');
  const hasRecovery = Object.hasOwn(input, 'recoveryCode');
  if (hasCode === hasRecovery) throw new AuthError('invalid_request', 'Send exactly one of code and recoveryCode.');
  return hasCode ? { code: requireString(input, 'code') } : { recoveryCode: requireString(input, 'recoveryCode') };
}

/**
 * The MFA routes (SPEC "Multi-factor authentication"):
 * - POST /auth/mfa/totp/enroll (authorizer) → 200 `{secret, otpauthUri, qrCodeSvg}`, pending;
 * - POST /auth/mfa/totp/confirm `{code}` (authorizer) → 200 `{recoveryCodes}`, TOTP on;
 * - DELETE /auth/mfa/totp `{code}` (authorizer, sudo mode) → 204;
 * - POST /auth/mfa/recovery-codes (authorizer, sudo mode) → 200 `{recoveryCodes}`;
 * - POST /auth/mfa/verify `{mfaToken, code|recoveryCode}` → 200 token response, aal 2;
 * - POST /auth/mfa/step-up `{code|recoveryCode}` (authorizer) → 200 token response, aal 2.
 */
export const handler = httpHandler<unknown>({ body: 'optional', needs: { store: true, sign: true, mail: true }, createMailer }, async ({ event, body, deps, context }) => {
  switch (routeOf(event)) {
    case 'POST /auth/mfa/totp/enroll':
      return json(200, await enrollTotp(deps, principalOf(event)));
    case 'POST /auth/mfa/totp/confirm':
      return json(200, await confirmTotp(deps, principalOf(event), { code: requireString(requireObject(body), 'code') }, context));
    case 'DELETE /auth/mfa/totp':
      await disableTotp(deps, principalOf(event), { code: requireString(requireObject(body), 'code') }, context);
      return json(204);
    case 'POST /auth/mfa/recovery-codes':
      return json(200, await regenerateRecoveryCodes(deps, principalOf(event), context));
    case 'POST /auth/mfa/verify': {
      const input = requireObject(body);
      const mfaToken = requireString(input, 'mfaToken');
      const { tokens, login } = await verifyMfa(deps, { mfaToken, ...secondFactor(input) }, context);
      return tokenResponse(tokens, login.transport === 'cookie' ? 'cookie' : 'body');
    }
    case 'POST /auth/mfa/step-up': {
      const { tokens, transport } = await stepUp(deps, principalOf(event), secondFactor(body), context);
      return tokenResponse(tokens, transport);
    }
    default:
      throw new AuthError('not_found');
  }
});
