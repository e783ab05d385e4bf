import { createMailer } from '../lib/mail/mailer';
import { AuthError } from '../lib/errors';
import { confirmTotp, disableTotp, enrollTotp, loadPasskeys, regenerateRecoveryCodes, stepUp, verifyMfa, type ChallengeFactorInput, type SecondFactorInput } from '../lib/mfa/mfa';
import { httpHandler, json, principalOf, requireObject, requireString, routeOf, tokenResponse } from './http';

/** `{code}` or `{recoveryCode}` (exactly one), as a second factor. */
function secondFactor(body: unknown): SecondFactorInput {
  const input = requireObject(body);
  const hasCode = Object.hasOwn(input, 'code');
  const hasRecovery = Object.hasOwn(input, 'recoveryCode');
  if (hasCode === hasRecovery) throw new AuthError('invalid_request', 'Send exactly one of code and recoveryCode.');
  return hasCode ? { code: requireString(input, 'code') } : { recoveryCode: requireString(input, 'recoveryCode') };
}

/** The second factor of a login's MFA challenge: a code, a recovery code, or `{passkey: {challengeId, response}}` (exactly one). */
function challengeFactor(input: Record<string, unknown>): ChallengeFactorInput {
  if (!Object.hasOwn(input, 'passkey')) return secondFactor(input);
  if (Object.hasOwn(input, 'code') || Object.hasOwn(input, 'recoveryCode')) throw new AuthError('invalid_request', 'Send exactly one of code, recoveryCode and passkey.');
  const passkey = requireObject(input.passkey, 'passkey');
  return { passkey: { challengeId: requireString(passkey, 'challengeId'), response: requireObject(passkey.response, 'passkey.response') } };
}

/**
 * The MFA routes (SPEC "Multi-factor authentication"):
 * - POST /auth/mfa/totp/enroll (authorizer) → 200 `{secret, otpauthUri, qrCodeSvg}`, pending;
 * - POST /auth/mfa/totp/confirm `{code}` (authorizer) → 200 `{recoveryCodes}`, TOTP on;
 * - DELETE /auth/mfa/totp `{code}` (authorizer, sudo mode) → 204;
 * - POST /auth/mfa/recovery-codes (authorizer, sudo mode) → 200 `{recoveryCodes}`;
 * - POST /auth/mfa/verify `{mfaToken, code|recoveryCode|passkey}` → 200 token response, aal 2;
 * - POST /auth/mfa/passkey/options `{mfaToken}` → 200 request options with a `challengeId`;
 * - POST /auth/mfa/step-up `{code|recoveryCode}` (authorizer) → 200 token response, aal 2.
 */
export const handler = httpHandler<unknown>({ body: 'optional', needs: { store: true, sign: true, mail: true, webauthn: true }, createMailer }, async ({ event, body, deps, context }) => {
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
      const { tokens, login } = await verifyMfa(deps, { mfaToken, ...challengeFactor(input) }, context);
      return tokenResponse(tokens, login.transport === 'cookie' ? 'cookie' : 'body');
    }
    case 'POST /auth/mfa/passkey/options':
      return json(200, await (await loadPasskeys()).mfaPasskeyOptions(deps, { mfaToken: requireString(requireObject(body), 'mfaToken') }));
    case 'POST /auth/mfa/step-up': {
      const { tokens, transport } = await stepUp(deps, principalOf(event), secondFactor(body), context);
      return tokenResponse(tokens, transport);
    }
    default:
      throw new AuthError('not_found');
  }
});
