import { createHash, randomBytes } from 'node:crypto';
import type { Deps } from '../deps';
import type { AccountTokenPurpose } from '../store/keys';
import { runScript } from '../store/redis';
import { CLAIM_ACCOUNT_TOKEN } from '../store/scripts/claim-account-token';
import { ISSUE_ACCOUNT_TOKEN } from '../store/scripts/issue-account-token';
import { SETTLE_ACCOUNT_TOKEN } from '../store/scripts/settle-account-token';

/**
 * Account tokens: what a verification, reset or email-change link carries.
 * `<user id>.<secret>`: the user id lets the store find the token in the user's slot, the
 * secret is 256 random bits. Only the secret's SHA-256 is stored, so a copy of Redis holds no
 * usable link; one pending token per purpose (a newer one replaces it).
 */
const ACCOUNT_TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
/** How long a claimed token stays held by a request that crashed before settling it. */
const CLAIM_MS = 30_000;

export interface ParsedAccountToken {
  userId: string;
  secretHash: string;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

export function parseAccountToken(token: unknown): ParsedAccountToken | null {
  const match = typeof token === 'string' ? ACCOUNT_TOKEN_PATTERN.exec(token) : null;
  return match ? { userId: match[1]!, secretHash: hashSecret(match[2]!) } : null;
}

/** The link a token travels in: the configured template with `{token}` filled in. */
export function linkFor(template: string, token: string): string {
  return template.replaceAll('{token}', encodeURIComponent(token));
}

/**
 * Makes and stores a new token of `purpose` for the user, for `email` (the address it is
 * mailed to), replacing any earlier one. Returns the token, or `null` when the user is gone.
 * One store request.
 */
export async function issueAccountToken(
  deps: Deps,
  userId: string,
  purpose: AccountTokenPurpose,
  email: string,
  ttlSeconds: number,
  previousEmail = '',
): Promise<string | null> {
  const secret = randomBytes(32).toString('base64url');
  const stored = await runScript<number>(deps.redis, ISSUE_ACCOUNT_TOKEN, [deps.keys.accountToken(userId, purpose), deps.keys.user(userId)], [
    hashSecret(secret),
    deps.clock.now() + ttlSeconds * 1000,
    email,
    previousEmail,
  ]);
  return stored === 1 ? `${userId}.${secret}` : null;
}

export interface ClaimedToken {
  userId: string;
  email: string;
  /** An email change's address before it ('' otherwise). */
  previousEmail: string;
  /** Deletes the token: the change is done. */
  finish(): Promise<void>;
  /** Lifts the claim (best effort): the change failed, the link works again. */
  release(): Promise<void>;
}

/** Claims a token of `purpose` (see the claim script), or `null` for a bad, used, expired or claimed one. One request. */
export async function claimAccountToken(deps: Deps, token: ParsedAccountToken, purpose: AccountTokenPurpose): Promise<ClaimedToken | null> {
  const key = deps.keys.accountToken(token.userId, purpose);
  const nonce = randomBytes(12).toString('base64url');
  const [outcome, email, previousEmail] = await runScript<string[]>(deps.redis, CLAIM_ACCOUNT_TOKEN, [key], [token.secretHash, deps.clock.now(), nonce, CLAIM_MS]);
  if (outcome !== 'claimed' || !email) return null;
  const settle = (action: 'finish' | 'release') => runScript<number>(deps.redis, SETTLE_ACCOUNT_TOKEN, [key], [nonce, action]);
  return {
    userId: token.userId,
    email,
    previousEmail: previousEmail ?? '',
    finish: async () => void (await settle('finish')),
    release: async () => {
      await settle('release').catch((error: unknown) => deps.logger.error('account_token_release_failed', error));
    },
  };
}

/** Runs `change` with the claim held: finished when it succeeds, released when it throws. */
export async function withClaim<T>(claim: ClaimedToken, change: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await change();
  } catch (error) {
    await claim.release();
    throw error;
  }
  await claim.finish();
  return result;
}
