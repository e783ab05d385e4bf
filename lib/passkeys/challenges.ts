import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps';
import { guardStore } from '../store/redis';

/** A WebAuthn challenge lives this long (SPEC), in Redis and in the browser's `timeout`. */
export const CHALLENGE_TTL_MS = 300_000;
const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * One pending ceremony, bound to what it may finish: a registration for one session of one
 * user, a sign-in (for one user when an email was given), or the second factor of one MFA
 * challenge. A challenge made for one never serves another.
 */
export type PendingCeremony =
  | { kind: 'register'; userId: string; sessionId: string }
  | { kind: 'login'; userId?: string }
  | { kind: 'mfa'; userId: string; mfaChallenge: string };

/** 256 random bits, base64url: the challenge, and the id of its record (`challengeId`). */
export function newChallenge(): string {
  return randomBytes(32).toString('base64url');
}

/** Stores the ceremony under its challenge for {@link CHALLENGE_TTL_MS}. One request. */
export async function storeChallenge(deps: Deps, challenge: string, ceremony: PendingCeremony): Promise<void> {
  await guardStore(() => deps.redis.set(deps.keys.webauthnChallenge(challenge), JSON.stringify(ceremony), { px: CHALLENGE_TTL_MS }));
}

/**
 * Takes the ceremony of a challenge out of Redis (GETDEL: of two verifications of one
 * challenge, exactly one gets it), if it is of `kind`; null when unknown, used, expired or of
 * another ceremony. One request, on `redis` (the pipelined client batches it with a limit).
 */
export async function takeChallenge<K extends PendingCeremony['kind']>(
  deps: Deps,
  challenge: unknown,
  kind: K,
  redis = deps.redis,
): Promise<Extract<PendingCeremony, { kind: K }> | null> {
  if (typeof challenge !== 'string' || !CHALLENGE_PATTERN.test(challenge)) return null;
  const stored: unknown = await guardStore(() => redis.getdel(deps.keys.webauthnChallenge(challenge)));
  if (typeof stored !== 'string') return null;
  const ceremony = JSON.parse(stored) as PendingCeremony;
  return ceremony.kind === kind ? (ceremony as Extract<PendingCeremony, { kind: K }>) : null;
}
