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

export function mfaChallengeAnswer(token: string): MfaChallenge {
  return { mfaRequired: true, mfaToken: token, methods: ['totp', 'recovery_code'], expiresIn: 300 };
}

