/**
 * The store at scale (SPEC "Storage and scale"): Redis bytes per session after 1, 100 and 3,000
 * refreshes and bytes per user, read with `MEMORY USAGE` over every key the service wrote; and
 * refresh and authorizer throughput through lib/ on a single redis-server and on a local
 * three-master Redis Cluster, each behind dev/gateway.ts.
 */
import { authorize, login, refresh, register, type TokenResponse } from '../lib/auth';
import { createDeps, type Clock, type Deps } from '../lib/deps';
import { MAX_SECURITY_EVENTS, recordSecurityEvent } from '../lib/security/events';
import { createMailer } from '../lib/mail/mailer';
import type { AuthLogger } from '../lib/log';
import { BENCH_PASSWORD, benchEmail, median, percentile, round } from './support';

export interface SessionFootprint {
  refreshes: number;
  /** The session hash. */
  sessionBytes: number;
  /** The user's session index (a sorted set holding this one session). */
  indexBytes: number;
  total: number;
}

export interface StorageFigures {
  perSession: SessionFootprint[];
  perUser: { recordBytes: number; emailIndexBytes: number; total: number; securityEvents: { one: number; full: number } };
  /** Simulated time between two refreshes. */
  refreshIntervalMinutes: number;
}

export interface Throughput {
  authorizerPerSecond: number;
  authorizerP50Ms: number;
  refreshPerSecond: number;
  refreshP50Ms: number;
  concurrency: number;
}

/** The table goes to stdout: the functions' log lines would only get in its way. */
const silentAuthLogger: AuthLogger = { event: () => undefined, error: () => undefined };
const contextOf = () => ({ ip: '198.51.100.20', userAgent: 'bench/1.0', requestId: 'bench' });
const REFRESH_INTERVAL_MS = 15 * 60_000;

/** `MEMORY USAGE <key> SAMPLES 0` through the Upstash-REST endpoint (0 when the key is absent). */
async function memoryUsage(deps: Deps, key: string): Promise<number> {
  const response = await fetch(deps.config.redisUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${deps.config.redisToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(['MEMORY', 'USAGE', key, 'SAMPLES', '0']),
  });
  const reply = (await response.json()) as { result?: number | null; error?: string };
  if (reply.error) throw new Error(reply.error);
  return Number(reply.result ?? 0);
}

/** A clock that the bench moves by hand (ahead of Redis's, so keys keep their real TTLs). */
function manualClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => (offset += ms) };
}

export async function measureFootprint(env: Record<string, string>, checkpoints = [1, 100, 3000]): Promise<StorageFigures> {
  const clock = manualClock();
  // A year of absolute lifetime, so 3,000 refreshes 15 minutes apart (31 days) stay one session.
  const deps = await createDeps({ env: { ...env, SESSION_MAX_TTL_SECONDS: '31536000' }, clock, createMailer, logger: silentAuthLogger });
  const email = benchEmail('footprint');
  const user = await register(deps, { email, password: BENCH_PASSWORD }, contextOf());
  let tokens: TokenResponse = await login(deps, { email, password: BENCH_PASSWORD }, contextOf());

  const perSession: SessionFootprint[] = [];
  let done = 0;
  for (const target of [...checkpoints].sort((a, b) => a - b)) {
    for (; done < target; done++) {
      clock.advance(REFRESH_INTERVAL_MS);
      tokens = await refresh(deps, tokens.refreshToken, contextOf());
    }
    const sessionBytes = await memoryUsage(deps, deps.keys.session(user.id, tokens.sessionId));
    const indexBytes = await memoryUsage(deps, deps.keys.userSessions(user.id));
    perSession.push({ refreshes: target, sessionBytes, indexBytes, total: sessionBytes + indexBytes });
  }
  const recordBytes = await memoryUsage(deps, deps.keys.user(user.id));
  const emailIndexBytes = await memoryUsage(deps, deps.keys.emailIndex(email));
  // The security events: one (the login above), then the full list (100, capped), each with a
  // browser-sized user agent and a device name.
  const one = await memoryUsage(deps, deps.keys.securityEvents(user.id));
  const browser = { ...contextOf(), userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' };
  for (let i = 0; i < MAX_SECURITY_EVENTS + 5; i++) await recordSecurityEvent(deps, user.id, 'login_failed', browser, { deviceName: 'MacBook Pro' });
  const full = await memoryUsage(deps, deps.keys.securityEvents(user.id));
  return { perSession, perUser: { recordBytes, emailIndexBytes, total: recordBytes + emailIndexBytes, securityEvents: { one, full } }, refreshIntervalMinutes: 15 };
}

/** `count` operations over `concurrency` parallel lanes; lane i runs `operation(i)`. */
async function concurrentRun(count: number, concurrency: number, operation: (lane: number) => Promise<unknown>): Promise<{ perSecond: number; p50Ms: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (next++ < count) {
        const before = performance.now();
        await operation(lane);
        latencies.push(performance.now() - before);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: Math.round(count / seconds), p50Ms: round(percentile(latencies, 50), 2) };
}

/**
 * authorize() and refresh() through lib/, in this process, `concurrency` at a time, each lane
 * with a user and session of its own (so a cluster spreads them over its nodes). Median of
 * `runs` runs.
 */
export async function measureThroughput(env: Record<string, string>, plan: { runs: number; operations: number; concurrency: number }): Promise<Throughput> {
  const deps = await createDeps({ env, createMailer, logger: silentAuthLogger });
  const lanes: TokenResponse[] = [];
  for (let i = 0; i < plan.concurrency; i++) {
    const email = benchEmail(`throughput-${i}`);
    await register(deps, { email, password: BENCH_PASSWORD }, contextOf());
    lanes.push(await login(deps, { email, password: BENCH_PASSWORD }, contextOf()));
  }
  const decide = async (lane: number) => {
    if (!(await authorize(deps, lanes[lane]!.accessToken))) throw new Error('denied');
  };
  const rotate = async (lane: number) => {
    lanes[lane] = await refresh(deps, lanes[lane]!.refreshToken, contextOf());
  };
  await concurrentRun(plan.operations / 4, plan.concurrency, decide); // warm-up
  await concurrentRun(plan.operations / 4, plan.concurrency, rotate);
  const authorizerRuns = [];
  const refreshRuns = [];
  for (let run = 0; run < plan.runs; run++) {
    authorizerRuns.push(await concurrentRun(plan.operations, plan.concurrency, decide));
    refreshRuns.push(await concurrentRun(plan.operations, plan.concurrency, rotate));
  }
  return {
    authorizerPerSecond: median(authorizerRuns.map((r) => r.perSecond)),
    authorizerP50Ms: median(authorizerRuns.map((r) => r.p50Ms)),
    refreshPerSecond: median(refreshRuns.map((r) => r.perSecond)),
    refreshP50Ms: median(refreshRuns.map((r) => r.p50Ms)),
    concurrency: plan.concurrency,
  };
}
