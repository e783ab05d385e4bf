import type { Deps } from '../deps';
import { StoreUnavailableError } from '../errors';
import { readRevocations, REVOCATION_PAGE_SIZE, type StreamEntry } from './revocation-stream';

/**
 * A stream-mode authorizer container's view of the revocation stream (SPEC "Revocation
 * stream mode (v2)", docs/revocation.md): the sessions and users revoked within the window
 * (config.revocation.windowMs), kept in memory, brought up to date by one request (XRANGE
 * from the last id seen) at most every REVOCATION_POLL_MS.
 *
 * - Cold start: the first decision loads the whole window in one request (in pages of
 *   REVOCATION_PAGE_SIZE when it holds more).
 * - Between polls a decision costs no Redis request.
 * - A poll is due once the last successful one was SENT at least REVOCATION_POLL_MS ago; the
 *   decision that finds it due waits for it (concurrent decisions share one poll). What a
 *   poll returns is the stream as of some moment after it was sent, so the send time is the
 *   freshness it proves: a slow answer never counts as fresher than it is.
 * - Fail closed: when the last successful poll was sent more than REVOCATION_MAX_STALENESS_MS
 *   ago, the decision throws StoreUnavailableError (the authorizer denies). A failed or hung
 *   poll (the client's per-request timeout, REDIS_TIMEOUT_MS) leaves that time where it was,
 *   so a dead or stalled Redis can never extend the bound.
 * - Memory: one map entry per revoked session and per user-level revocation of the window,
 *   pruned at every poll (entries arrive in id order, so pruning walks from the oldest).
 */
export class RevocationFollower {
  /** `<user id>.<session id>` of a revoked session → the entry's time in whole seconds (a small integer: no heap number), Redis clock. Insertion order = stream order. */
  private readonly sessions = new Map<string, number>();
  /** User id → { every token issued at or before `before` (ms) is revoked; entry time }. */
  private readonly users = new Map<string, { before: number; atMs: number }>();
  private lastId: string | null = null;
  /** When the last successful poll was sent (ms); -Infinity before the first. */
  private syncedAt = Number.NEGATIVE_INFINITY;
  /** When the last poll, successful or not, was sent: a failing Redis is asked at most every REVOCATION_POLL_MS too. */
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  /** Polls sent, for the benchmark and tests. */
  polls = 0;

  constructor(private readonly deps: Deps) {}

  /**
   * Whether the session (or its user, for a token issued at `issuedAtSeconds`) is revoked.
   * Throws StoreUnavailableError when the view is staler than REVOCATION_MAX_STALENESS_MS.
   */
  async isRevoked(userId: string, sessionId: string, issuedAtSeconds: number): Promise<boolean> {
    const { pollMs, maxStalenessMs } = this.deps.config.revocation;
    const now = this.deps.clock.now();
    if (now - this.syncedAt >= pollMs && (now - this.attemptedAt >= pollMs || this.syncedAt === Number.NEGATIVE_INFINITY)) await this.poll();
    if (this.deps.clock.now() - this.syncedAt > maxStalenessMs) {
      throw new StoreUnavailableError(new Error(`the revocation stream was last read more than ${maxStalenessMs} ms ago`));
    }
    if (this.sessions.has(`${userId}.${sessionId}`)) return true;
    const user = this.users.get(userId);
    return user !== undefined && issuedAtSeconds * 1000 <= user.before;
  }

  /** How many revocations this container holds (sessions + users). */
  get size(): number {
    return this.sessions.size + this.users.size;
  }

  /** When the last successful poll was sent (ms). */
  get lastSyncedAt(): number {
    return this.syncedAt;
  }

  /** One poll, shared by every decision that finds it due meanwhile. A fault is swallowed: staleness decides. */
  poll(): Promise<void> {
    this.inflight ??= this.readOnce().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async readOnce(): Promise<void> {
    const sentAt = this.deps.clock.now();
    this.attemptedAt = sentAt;
    const since = sentAt - this.deps.config.revocation.windowMs;
    this.polls++;
    // A full page means more may follow: read on from its last id (a cold start of a window
    // beyond REVOCATION_PAGE_SIZE, or a container that fell behind). The freshness proven is
    // the first page's send time, reached only once the stream has been read to its end.
    // The pages of one poll get a time budget (the staleness bound less one request's
    // timeout, at least the poll interval), so a decision never waits much past REVOCATION_MAX_STALENESS_MS: past it, the
    // pages read so far are kept, this decision denies (the view is not fresher), and the next
    // poll goes on from the last id read.
    const { maxStalenessMs, pollMs } = this.deps.config.revocation;
    const budgetMs = Math.max(pollMs, maxStalenessMs - this.deps.config.redisTimeoutMs);
    for (;;) {
      let entries: StreamEntry[];
      try {
        entries = await readRevocations(this.deps.redis, this.deps.keys, this.lastId, since);
      } catch {
        return;
      }
      for (const entry of entries) this.add(entry);
      if (entries.length < REVOCATION_PAGE_SIZE) break;
      if (this.deps.clock.now() - sentAt > budgetMs) return;
    }
    this.prune(since);
    if (sentAt > this.syncedAt) this.syncedAt = sentAt;
  }

  private add(entry: StreamEntry): void {
    this.lastId = entry.id;
    for (const sessionId of entry.sessionIds) {
      // Keyed by user and session: an entry names sessions of its own user only.
      const key = `${entry.userId}.${sessionId}`;
      // Re-inserted, so the map stays in entry order for pruning.
      this.sessions.delete(key);
      this.sessions.set(key, Math.floor(entry.atMs / 1000));
    }
    if (entry.issuedBefore !== undefined) {
      const before = Math.max(entry.issuedBefore, this.users.get(entry.userId)?.before ?? 0);
      this.users.delete(entry.userId);
      this.users.set(entry.userId, { before, atMs: entry.atMs });
    }
  }

  private prune(since: number): void {
    const sinceSeconds = Math.floor(since / 1000);
    for (const [id, atSeconds] of this.sessions) {
      if (atSeconds >= sinceSeconds) break;
      this.sessions.delete(id);
    }
    for (const [id, user] of this.users) {
      if (user.atMs >= since) break;
      this.users.delete(id);
    }
  }
}

const followers = new WeakMap<Deps, RevocationFollower>();

/** The follower of one set of deps (one per container: deps are built once per cold start). */
export function revocationFollowerOf(deps: Deps): RevocationFollower {
  let follower = followers.get(deps);
  if (!follower) followers.set(deps, (follower = new RevocationFollower(deps)));
  return follower;
}
