import { createHmac } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL } from '@simplewebauthn/server/helpers';
import type { WebAuthnConfig } from '../config';
import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import { limit } from '../flows/limit';
import { parseMfaToken } from '../mfa/challenge';
import { requireSudo } from '../mfa/sudo';
import type { Principal } from '../principal';
import { openSession, sanitizeDeviceName } from '../sessions/sessions';
import { recordSecurityEvent, securityEvent } from '../security/events';
import { sendSecurityNotice } from '../security/notices';
import { guardStore } from '../store/redis';
import { issueTokens, type TokenResponse } from '../tokens/token-response';
import { findCredentials, normalizeEmail, readUser, recognizeDevice, rememberDevice } from '../users/users';
import { CHALLENGE_TTL_MS, newChallenge, storeChallenge, takeChallenge, type PendingCeremony } from './challenges';
import { addPasskey, MAX_PASSKEYS, passkeyView, readPasskey, readPasskeys, recordPasskeyUse, removePasskey, type PasskeyView, type StoredPasskey } from './store';

/** The methods (RFC 8176) of a user-verified passkey sign-in: a hardware-bound key, and the user verified on it. */
export const PASSKEY_AMR = ['hwk', 'user'];

/** Options as the browser's `navigator.credentials.get` takes them, and the id to send back. */
export type PasskeyRequestOptions = PublicKeyCredentialRequestOptionsJSON & { challengeId: string };

function relyingParty(deps: Deps): WebAuthnConfig {
  if (!deps.config.webauthn) throw new Error('this function was not given the WebAuthn settings (needs.webauthn)');
  return deps.config.webauthn;
}

/** The WebAuthn user handle of a user: their id's bytes (so a discoverable sign-in names its user, and nothing else). */
function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(userId);
}

function isCredentialJson(value: unknown): value is { id: string; response: Record<string, unknown> } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { id, response } = value as Record<string, unknown>;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,1400}$/.test(id) && typeof response === 'object' && response !== null;
}

/** The challenge a response answers (from its clientDataJSON); null when it has none readable. */
function challengeOf(response: { response: Record<string, unknown> }): string | null {
  try {
    const { challenge } = decodeClientDataJSON(String(response.response.clientDataJSON));
    return typeof challenge === 'string' ? challenge : null;
  } catch {
    return null;
  }
}

/**
 * POST /auth/passkeys/register/options (signed in; sudo mode with MFA on): creation options
 * for a discoverable, user-verified credential; the user's passkeys are excluded (an
 * authenticator that holds one says so instead of making a second). At most 10 passkeys.
 */
export async function passkeyRegistrationOptions(deps: Deps, principal: Principal): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const rp = relyingParty(deps);
  await requireSudo(deps, principal);
  const [user, passkeys] = await Promise.all([readUser(deps.pipelinedRedis, deps.keys, principal.userId), readPasskeys(deps, principal.userId, deps.pipelinedRedis)]);
  if (!user) throw new AuthError('invalid_token');
  if (passkeys.length >= MAX_PASSKEYS) throw new AuthError('invalid_request', `An account holds at most ${MAX_PASSKEYS} passkeys: remove one first.`);
  const challenge = newChallenge();
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpId,
    userName: user.email,
    userDisplayName: user.email,
    userID: userHandle(user.id),
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: passkeys.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  await storeChallenge(deps, challenge, { kind: 'register', userId: user.id, sessionId: principal.sessionId });
  return options;
}

/**
 * POST /auth/passkeys/register `{response, name?}` (signed in; sudo mode with MFA on): verifies
 * the attestation against the challenge this session was given (single use) and stores the
 * credential. A response that does not verify: `invalid_request`, nothing stored.
 */
export async function registerPasskey(deps: Deps, principal: Principal, input: { response: unknown; name?: string }, context: RequestContext): Promise<PasskeyView> {
  const rp = relyingParty(deps);
  if (!isCredentialJson(input.response)) throw new AuthError('invalid_request', 'response must be the JSON of a WebAuthn registration (startRegistration()).');
  const response = input.response as unknown as RegistrationResponseJSON;
  await requireSudo(deps, principal);
  const ceremony = await takeChallenge(deps, challengeOf(input.response), 'register');
  if (!ceremony || ceremony.userId !== principal.userId || ceremony.sessionId !== principal.sessionId) throw new AuthError('invalid_token');

  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({ response, expectedChallenge: challengeOf(input.response)!, expectedOrigin: rp.origins, expectedRPID: rp.rpId, requireUserVerification: true });
  } catch (error) {
    deps.logger.event('passkey_added', context, { outcome: 'failure', ...principal, reason: 'unverified' });
    throw new AuthError('invalid_request', `The passkey could not be verified: ${(error as Error).message}`);
  }
  if (!verification.verified) throw new AuthError('invalid_request', 'The passkey could not be verified.');
  const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
  const passkey: StoredPasskey = {
    id: credential.id,
    publicKey: isoBase64URL.fromBuffer(credential.publicKey),
    counter: credential.counter,
    transports: credential.transports ?? [],
    name: sanitizeDeviceName(input.name ?? '') || 'Passkey',
    createdAt: deps.clock.now(),
    lastUsedAt: null,
    deviceType: credentialDeviceType,
    backedUp: credentialBackedUp,
  };
  // The security event goes in with the passkey, in the same step.
  const added = await addPasskey(deps, principal.userId, passkey, securityEvent(deps, 'passkey_added', context, { sessionId: principal.sessionId, deviceName: passkey.name }));
  if (added.outcome === 'no_user') throw new AuthError('invalid_token');
  if (added.outcome === 'exists') throw new AuthError('invalid_request', 'This passkey is registered already.');
  if (added.outcome !== 'ok') throw new AuthError('invalid_request', `An account holds at most ${MAX_PASSKEYS} passkeys: remove one first.`);
  deps.logger.event('passkey_added', context, { outcome: 'success', ...principal });
  // The change is made: the notice never fails it (a mail fault is logged).
  await sendSecurityNotice(deps, 'passkey_added', added.email, context, { userId: principal.userId, deviceName: passkey.name });
  return passkeyView(passkey);
}

/** GET /auth/passkeys (signed in): the caller's passkeys, oldest first. One request. */
export async function listPasskeys(deps: Deps, principal: Principal): Promise<PasskeyView[]> {
  return (await readPasskeys(deps, principal.userId)).map(passkeyView);
}

/** DELETE /auth/passkeys/{id} (signed in; sudo mode with MFA on): `not_found` unless it is one of the caller's. */
export async function deletePasskey(deps: Deps, principal: Principal, credentialId: string, context: RequestContext): Promise<void> {
  await requireSudo(deps, principal);
  const removed = await removePasskey(deps, principal.userId, credentialId, securityEvent(deps, 'passkey_removed', context, { sessionId: principal.sessionId }));
  if (removed.outcome === 'no_user') throw new AuthError('invalid_token');
  if (removed.outcome !== 'ok') throw new AuthError('not_found');
  deps.logger.event('passkey_removed', context, { outcome: 'success', ...principal });
}

/**
 * POST /auth/passkeys/login/options `{email?}`: request options with a `challengeId`. Without
 * an email, any discoverable passkey of this RP may answer. With one, the options list that
 * account's passkeys, padded with made-up credential ids (derived from the address with a key
 * from AUTH_SECRET: the same every time) to {@link MAX_PASSKEYS} entries in id order, and an
 * address with no passkey or no account gets the same shape: the answer does not tell them
 * apart, nor how many passkeys an account has. The same store requests either way.
 */
export async function passkeyLoginOptions(deps: Deps, input: { email?: unknown }, context: RequestContext): Promise<PasskeyRequestOptions> {
  const rp = relyingParty(deps);
  const email = input.email === undefined ? undefined : normalizeEmail(input.email);
  const [, credentials] = await Promise.all([
    limit(deps, context, 'passkey_login', [{ name: 'passkeyLoginPerIp', identifier: context.ip }]),
    email === undefined ? undefined : findCredentials(deps.pipelinedRedis, deps.keys, email),
  ]);
  // An unknown address reads an empty hash too, so both cost one request here.
  const passkeys = email === undefined ? [] : await readPasskeys(deps, credentials?.id ?? 'none');
  const challenge = newChallenge();
  const allowCredentials = email === undefined ? [] : paddedCredentials(deps, email, passkeys);
  const options = await generateAuthenticationOptions({ rpID: rp.rpId, challenge: isoBase64URL.toBuffer(challenge), timeout: CHALLENGE_TTL_MS, userVerification: 'required', allowCredentials });
  await storeChallenge(deps, challenge, credentials && passkeys.length > 0 ? { kind: 'login', userId: credentials.id } : { kind: 'login' });
  return { ...options, challengeId: challenge };
}

/** The account's passkeys and made-up ones up to {@link MAX_PASSKEYS}, in id order (an authenticator ignores ids it does not hold). */
function paddedCredentials(deps: Deps, email: string, passkeys: StoredPasskey[]): { id: string; transports: string[] }[] {
  const decoys = Array.from({ length: MAX_PASSKEYS - passkeys.length }, (_, index) => ({
    id: createHmac('sha256', deps.config.passkeyDecoyKeys[0]!).update(`${email}\n${index}`).digest('base64url'),
    transports: ['hybrid', 'internal'],
  }));
  return [...passkeys.map((passkey) => ({ id: passkey.id, transports: passkey.transports })), ...decoys].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * Verifies an assertion for a taken ceremony: the passkey must be the user's, its signature
 * good for this challenge, origin and RP ID, the user verified when `userVerification`, and
 * its counter moving forward (a counter that goes back is refused and logged as a possible
 * cloned key). Answers the user's id, or, when it does not verify, `refused` with the user's id
 * when the passkey is one of that user's (the failure belongs in their security activity).
 */
async function verifyAssertion(
  deps: Deps,
  ceremony: PendingCeremony,
  challenge: string,
  response: { id: string; response: Record<string, unknown> },
  options: { userVerification: boolean },
  context: RequestContext,
): Promise<{ userId: string } | { refused: string | null }> {
  const rp = relyingParty(deps);
  const handle = typeof response.response.userHandle === 'string' ? safeDecode(response.response.userHandle) : null;
  const userId = 'userId' in ceremony && ceremony.userId ? ceremony.userId : handle;
  if (!userId || !/^[A-Za-z0-9_-]{1,64}$/.test(userId) || (handle !== null && handle !== userId)) return { refused: null };
  const passkey = await readPasskey(deps, userId, response.id);
  if (!passkey) return { refused: null };

  let newCounter: number;
  try {
    const verification = await verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.rpId,
      // The counter is judged below, atomically against the stored one, so that a regression
      // is told from a bad signature (and logged as what it is).
      credential: { id: passkey.id, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: 0, transports: passkey.transports },
      requireUserVerification: options.userVerification,
    });
    if (!verification.verified) return { refused: userId };
    newCounter = verification.authenticationInfo.newCounter;
  } catch {
    return { refused: userId };
  }
  const used = await recordPasskeyUse(deps, userId, passkey.id, newCounter);
  if (used.outcome === 'counter') {
    deps.logger.event('passkey_counter_regressed', context, { outcome: 'denied', userId, reason: `counter ${newCounter} <= ${used.stored}: possibly a cloned key` });
    return { refused: userId };
  }
  return used.outcome === 'ok' ? { userId } : { refused: null };
}

function safeDecode(value: string): string | null {
  try {
    return isoBase64URL.toUTF8String(value);
  } catch {
    return null;
  }
}

export interface PasskeyLoginInput {
  challengeId: unknown;
  response: unknown;
  deviceName?: string;
  transport?: string;
}

/**
 * POST /auth/passkeys/login: a user-verified passkey signs in by itself (it is two factors:
 * the key, and the user verified on it), so the session is `aal` 2 with `amr ["hwk","user"]`,
 * TOTP or not. Counted per client IP (RATE_LIMIT_PASSKEY_LOGIN_PER_IP) with the challenge's
 * take in one request; an unknown, used, expired or other ceremony's challenge: `invalid_token`;
 * an assertion that does not verify: `invalid_credentials`.
 */
export async function passkeyLogin(deps: Deps, input: PasskeyLoginInput, context: RequestContext): Promise<TokenResponse> {
  if (!isCredentialJson(input.response)) throw new AuthError('invalid_request', 'response must be the JSON of a WebAuthn assertion (startAuthentication()).');
  const [, ceremony] = await Promise.all([
    limit(deps, context, 'passkey_login', [{ name: 'passkeyLoginPerIp', identifier: context.ip }]),
    takeChallenge(deps, input.challengeId, 'login', deps.pipelinedRedis),
  ]);
  if (!ceremony) throw new AuthError('invalid_token');
  const verified = await verifyAssertion(deps, ceremony, input.challengeId as string, input.response, { userVerification: true }, context);
  if ('refused' in verified) {
    deps.logger.event('login_failed', context, { outcome: 'failure', ...(verified.refused ? { userId: verified.refused } : {}), reason: 'passkey' });
    // One of the account's passkeys failed: the account's own activity shows it.
    if (verified.refused) await recordSecurityEvent(deps, verified.refused, 'login_failed', context, { deviceName: input.deviceName ?? '' });
    throw new AuthError('invalid_credentials');
  }
  const { userId } = verified;
  const device = { name: input.deviceName ?? '', userAgent: context.userAgent, ip: context.ip };
  const session = await openSession(deps, { id: userId, email: '' }, device, { assurance: { aal: 2, amr: PASSKEY_AMR }, ...(input.transport ? { transport: input.transport } : {}) });
  if ('mfaRequired' in session) throw new Error('unreachable: no challenge was asked for');
  deps.logger.event('login_ok', context, { outcome: 'success', userId, sessionId: session.sessionId, reason: 'passkey' });
  for (const evicted of session.evicted) deps.logger.event('session_evicted', context, { outcome: 'success', userId, sessionId: evicted, reason: 'max_sessions' });
  await noticeNewDevice(deps, session.user, device, context);
  return issueTokens(deps, session);
}

/**
 * The "new device" notice of a sign-in (SPEC), as a password login sends it: the account's
 * known devices (client IPs, as keyed tags, in its email index) are read and this one
 * remembered; a device not among them (on an account that has signed in before) gets the
 * notice. Two store requests, after the session exists; a fault here is logged and never
 * fails the sign-in.
 */
async function noticeNewDevice(deps: Deps, user: { id: string; email: string }, device: { name: string }, context: RequestContext): Promise<void> {
  try {
    const credentials = await findCredentials(deps.redis, deps.keys, user.email);
    if (!credentials || credentials.id !== user.id) return;
    const recognized = recognizeDevice(deps.config, credentials.knownDevices, context.ip);
    if (recognized.current) return;
    await rememberDevice(deps.redis, deps.keys, credentials, recognized.tag);
    if (recognized.isNew) {
      await sendSecurityNotice(deps, 'new_device', user.email, context, { deviceName: sanitizeDeviceName(device.name), userId: user.id });
    }
  } catch (error) {
    deps.logger.error('new_device_check_failed', error, { requestId: context.requestId });
  }
}

/**
 * POST /auth/mfa/passkey/options `{mfaToken}`: request options for the passkeys of the user of
 * a pending MFA challenge, bound to that challenge. `invalid_token` when the MFA token is not
 * a live one; `invalid_request` when the user has no passkey.
 */
export async function mfaPasskeyOptions(deps: Deps, input: { mfaToken: string }): Promise<PasskeyRequestOptions> {
  const rp = relyingParty(deps);
  const parsed = parseMfaToken(deps, input.mfaToken);
  if (!parsed) throw new AuthError('invalid_token');
  const [live, passkeys] = await Promise.all([
    guardStore(() => deps.pipelinedRedis.exists(parsed.key)),
    readPasskeys(deps, parsed.userId, deps.pipelinedRedis),
  ]);
  if (Number(live) !== 1) throw new AuthError('invalid_token');
  if (passkeys.length === 0) throw new AuthError('invalid_request', 'This account has no passkey.');
  const challenge = newChallenge();
  const options = await generateAuthenticationOptions({
    rpID: rp.rpId,
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: CHALLENGE_TTL_MS,
    // The password was the first factor; the key is the second, verified user or not.
    userVerification: 'preferred',
    allowCredentials: passkeys.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
  });
  await storeChallenge(deps, challenge, { kind: 'mfa', userId: parsed.userId, mfaChallenge: parsed.secretHash });
  return { ...options, challengeId: challenge };
}

/**
 * Judges a passkey given as the second factor of the MFA challenge `mfaToken` names: true when
 * its challenge was made for that MFA challenge and the assertion verifies (user verification
 * not required). The challenge is used up either way.
 */
export async function checkPasskeyFactor(deps: Deps, mfa: { userId: string; secretHash: string }, input: { challengeId: unknown; response: unknown }, context: RequestContext): Promise<boolean> {
  if (!isCredentialJson(input.response)) throw new AuthError('invalid_request', 'passkey.response must be the JSON of a WebAuthn assertion (startAuthentication()).');
  const ceremony = await takeChallenge(deps, input.challengeId, 'mfa');
  if (!ceremony || ceremony.userId !== mfa.userId || ceremony.mfaChallenge !== mfa.secretHash) throw new AuthError('invalid_token');
  const verified = await verifyAssertion(deps, ceremony, input.challengeId as string, input.response, { userVerification: false }, context);
  return 'userId' in verified && verified.userId === mfa.userId;
}
