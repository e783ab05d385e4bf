import { createHash, randomBytes } from 'node:crypto';
import type { Deps } from '../deps';
import type { Device, MfaChallenge } from '../../client/src/contract';

/** The answer of a correct password when TOTP is on (SPEC): no tokens yet. */
export type { MfaChallenge };

/** What an MFA challenge keeps of its login, so the verify step finishes that login. */
export interface PendingLogin {
  device: Device;
  transport: string;
}

/** A new MFA token and the key of its challenge (only the secret's hash names the key). */
export function newMfaChallenge(deps: Deps, userId: string): { token: string; key: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${userId}.${secret}`, key: deps.keys.mfaChallenge(userId, createHash('sha256').update(secret).digest('base64url')) };
}

/** The MFA challenge answer; `passkey` is among its methods when the user has one. */
export function mfaChallengeAnswer(token: string, options: { passkeys: number }): MfaChallenge {
  return { mfaRequired: true, mfaToken: token, methods: ['totp', 'recovery_code', ...(options.passkeys > 0 ? (['passkey'] as const) : [])], expiresIn: 300 };
}

/** The user id an MFA token names and the key of its challenge; null when malformed. */
export function parseMfaToken(deps: Deps, token: string): { userId: string; secretHash: string; key: string } | null {
  const match = MFA_TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const secretHash = createHash('sha256').update(match[2]!).digest('base64url');
  return { userId: match[1]!, secretHash, key: deps.keys.mfaChallenge(match[1]!, secretHash) };
}

const MFA_TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

