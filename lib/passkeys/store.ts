import type { Passkey } from '../../client/src/contract';
import type { Deps } from '../deps';
import { guardStore, runScript } from '../store/redis';
import { PASSKEY_SETTINGS } from '../store/scripts/passkeys';
import { securityEventArgs, type SecurityEvent } from '../security/events';

/** Passkeys one user may hold (SPEC). */
export const MAX_PASSKEYS = 10;

/** One registered credential as the `passkeys` hash keeps it (JSON per credential id). */
export interface StoredPasskey {
  id: string;
  /** COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0: the authenticator keeps none). */
  counter: number;
  transports: string[];
  name: string;
  /** ms since the epoch. */
  createdAt: number;
  lastUsedAt: number | null;
  /** `singleDevice` or `multiDevice` (synced), and whether it is backed up. */
  deviceType: string;
  backedUp: boolean;
}

/** A passkey as the API shows it (SPEC): never the key. */
export type PasskeyView = Passkey;

export function passkeyView(passkey: StoredPasskey): PasskeyView {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: new Date(passkey.createdAt).toISOString(),
    lastUsedAt: passkey.lastUsedAt === null ? null : new Date(passkey.lastUsedAt).toISOString(),
  };
}

/** The user's passkeys, oldest first. One request (on `redis`, so it can share a pipeline). */
export async function readPasskeys(deps: Deps, userId: string, redis = deps.redis): Promise<StoredPasskey[]> {
  // The raw client answers HGETALL as Redis does: field, value, field, value, ...
  const reply: unknown = await guardStore(() => redis.hgetall(deps.keys.passkeys(userId)));
  const values = Array.isArray(reply) ? reply.filter((_, index) => index % 2 === 1) : Object.values(reply ?? {});
  return values
    .map((value) => parseStored(String(value)))
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** One passkey of the user, or null. One request. */
export async function readPasskey(deps: Deps, userId: string, credentialId: string): Promise<StoredPasskey | null> {
  const value: unknown = await guardStore(() => deps.redis.hget(deps.keys.passkeys(userId), credentialId));
  return typeof value === 'string' ? parseStored(value) : null;
}

/**
 * A stored credential. The `use` script re-encodes it with Redis's cjson, which writes an empty
 * array as `{}`: `transports` is read back as a list whatever it became.
 */
function parseStored(json: string): StoredPasskey {
  const stored = JSON.parse(json) as StoredPasskey;
  return { ...stored, transports: Array.isArray(stored.transports) ? stored.transports : [] };
}

/** The outcome of a change; `ok` with the user's email (for the notice). */
export type PasskeyChange = { outcome: 'ok'; email: string } | { outcome: 'no_user' | 'exists' | 'full' | 'not_found' };

/** Stores a new passkey and records `event` in the user's security events, in one request. */
export async function addPasskey(deps: Deps, userId: string, passkey: StoredPasskey, event: SecurityEvent): Promise<PasskeyChange> {
  return change(deps, userId, ['add', passkey.id, JSON.stringify(passkey), MAX_PASSKEYS, 0, 0, ...securityEventArgs(deps, event)]);
}

/** Removes a passkey and records `event` in the user's security events, in one request. */
export async function removePasskey(deps: Deps, userId: string, credentialId: string, event: SecurityEvent): Promise<PasskeyChange> {
  return change(deps, userId, ['remove', credentialId, '', 0, 0, 0, ...securityEventArgs(deps, event)]);
}

async function change(deps: Deps, userId: string, args: (string | number)[]): Promise<PasskeyChange> {
  const [outcome, email] = await runScript<string[]>(deps.redis, PASSKEY_SETTINGS, keysOf(deps, userId), args);
  return outcome === 'ok' ? { outcome, email: email! } : { outcome: outcome as 'no_user' | 'exists' | 'full' | 'not_found' };
}

/**
 * Records a verified use: the counter must move forward (compare-and-set in the script).
 * `counter` answers the stored counter a regressed one fell behind.
 */
export async function recordPasskeyUse(deps: Deps, userId: string, credentialId: string, counter: number): Promise<{ outcome: 'ok' | 'not_found' | 'no_user' } | { outcome: 'counter'; stored: number }> {
  const [outcome, stored] = await runScript<string[]>(deps.redis, PASSKEY_SETTINGS, keysOf(deps, userId), ['use', credentialId, '', 0, counter, deps.clock.now(), '', 0, 0]);
  if (outcome === 'counter') return { outcome, stored: Number(stored) };
  return { outcome: outcome as 'ok' | 'not_found' | 'no_user' };
}

function keysOf(deps: Deps, userId: string): string[] {
  return [deps.keys.user(userId), deps.keys.passkeys(userId), deps.keys.securityEvents(userId)];
}
