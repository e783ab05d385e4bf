import type { Redis } from '@upstash/redis';
import type { Deps } from '../deps';
import type { RedisKeys } from '../store/keys';
import { guardStore } from '../store/redis';

/**
 * The revocation stream (SPEC "Revocation stream mode (v2)", docs/revocation.md): the one
 * place that writes it. Every path that revokes a session calls {@link appendRevocations}
 * before it answers success; a stream-mode authorizer follows it (revocation-follower.ts).
 *
 * An entry is one XADD: `u` = the user id, and `s` = the revoked session ids (space-separated)
 * and/or `t` = a time in ms: every access token of the user issued at or before it is
 * revoked (a user-level revocation: admin disable or delete). The stream key is one key in
 * its own slot (keys.revocations()), so the append is its own request, never part of a
 * script on the user's keys. Each XADD trims the stream to the revocation window
 * (`MINID`, exact): it never holds more than the revocations of the last access token
 * lifetime (plus the clock margins of config.revocation.windowMs).
 */
export interface Revocation {
  userId: string;
  /** Sessions of `userId` that are (about to be) revoked. */
  sessionIds?: string[];
  /** User-level: every access token of `userId` with `iat` at or before this (ms) is revoked. */
  issuedBefore?: number;
}

/** Stream entry fields. */
const FIELD = { user: 'u', sessions: 's', issuedBefore: 't' } as const;

/**
 * Whether this deployment keeps the stream. In `strict` mode the authorizer reads each
 * session and nobody reads the stream, so revoking functions append nothing (their request
 * budgets stay those of SPEC "Storage and scale").
 */
export function streamsRevocations(deps: Deps): boolean {
  return deps.config.revocation.mode === 'stream';
}

/**
 * Appends one revocation to the stream: one request (XADD with MINID trimming), or none in
 * strict mode or when there is nothing to revoke. A fault throws StoreUnavailableError (503):
 * the caller must then not report success. Call it BEFORE the user-tagged revocation when
 * the ids are known beforehand (logout, revoke one, logout-all, ...): a crash between the two
 * then over-denies (the session is denied by stream-mode authorizers and still refreshes
 * until the retry), never the reverse. See docs/revocation.md for the script-discovered cases.
 */
export async function appendRevocations(deps: Deps, revocation: Revocation): Promise<void> {
  if (!streamsRevocations(deps)) return;
  const sessionIds = revocation.sessionIds ?? [];
  if (sessionIds.length === 0 && revocation.issuedBefore === undefined) return;
  const entry: Record<string, string> = { [FIELD.user]: revocation.userId };
  if (sessionIds.length > 0) entry[FIELD.sessions] = sessionIds.join(' ');
  if (revocation.issuedBefore !== undefined) entry[FIELD.issuedBefore] = String(Math.floor(revocation.issuedBefore));
  const minId = Math.max(0, deps.clock.now() - deps.config.revocation.windowMs);
  await guardStore(() => deps.redis.xadd(deps.keys.revocations(), '*', entry, { trim: { type: 'MINID', comparison: '=', threshold: String(minId) } }));
}

/**
 * The append of a revocation a script has already made (reuse detected, eviction by the
 * session cap: the script decides what it revokes, so the append cannot go first). Tried a
 * second time at once if the first fails, since no retry of the request will bring it back (the
 * session is gone, a retry finds nothing to revoke); a second fault throws (503), and the
 * session's access tokens then live on in stream-mode authorizers at most until they expire
 * (docs/revocation.md).
 */
export async function appendAfterScript(deps: Deps, revocation: Revocation): Promise<void> {
  try {
    await appendRevocations(deps, revocation);
  } catch {
    await appendRevocations(deps, revocation);
  }
}

/**
 * User-level revocation for paths that revoke a whole account (admin disable or delete):
 * every access token of the user issued at or before `issuedBefore` (default now) is denied by
 * stream-mode authorizers. Tokens are compared by their `iat` (whole seconds), so a token
 * issued in the same second just after is denied too (over-denial, never the reverse).
 * Append it before the user's sessions are revoked in Redis. One request; none in strict mode.
 */
export function revokeUserTokensBefore(deps: Deps, userId: string, issuedBefore = deps.clock.now()): Promise<void> {
  return appendRevocations(deps, { userId, issuedBefore });
}

/** One entry as read back: its stream id, the ms part of that id (Redis's clock), and what it revokes. */
export interface StreamEntry {
  id: string;
  atMs: number;
  userId: string;
  sessionIds: string[];
  issuedBefore: number | undefined;
}

/**
 * Entries per read. A window of up to this many revocations loads in one request; a larger
 * one in pages of this size, so that no single read outgrows the client's per-request timeout
 * (10,000 entries read in ~0.2 s here, `npm run bench`).
 */
export const REVOCATION_PAGE_SIZE = 10_000;

/**
 * Reads at most `count` entries after `afterId` (exclusive), or, with `afterId` null, from
 * `sinceMs` on (a cold start's load of the window). One request (XRANGE ... COUNT).
 */
export async function readRevocations(redis: Redis, keys: RedisKeys, afterId: string | null, sinceMs: number, count = REVOCATION_PAGE_SIZE): Promise<StreamEntry[]> {
  const start = afterId === null ? String(Math.max(0, Math.floor(sinceMs))) : `(${afterId}`;
  const reply: unknown = await guardStore(() => redis.xrange(keys.revocations(), start, '+', count));
  return parseRange(reply);
}

/** XRANGE's raw reply `[[id, [field, value, ...]], ...]` (the client's deserialization is off). */
function parseRange(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const entries: StreamEntry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !Array.isArray(item[1])) continue;
    const id = item[0];
    const fields = item[1] as unknown[];
    const value: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) value[String(fields[i])] = String(fields[i + 1]);
    const userId = value[FIELD.user];
    if (!userId) continue;
    const before = value[FIELD.issuedBefore];
    entries.push({
      id,
      atMs: Number(id.split('-')[0]),
      userId,
      sessionIds: value[FIELD.sessions] ? value[FIELD.sessions]!.split(' ') : [],
      issuedBefore: before === undefined ? undefined : Number(before),
    });
  }
  return entries;
}
