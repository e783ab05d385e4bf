/**
 * The revocation stream mode's figures (SPEC "Revocation stream mode (v2)", docs/revocation.md),
 * for bench/run.ts (`npm run bench`, or only these: `npm run bench -- --only=revocation`):
 *
 * - Redis requests per decision, c=1 and c=16, strict and stream, and the CPU per decision
 *   beside the verify-only floor (one forked container per algorithm);
 * - the revocation delay: logout answered → first deny, over many trials and several
 *   containers (forked processes, each with its own view of the stream), p50 / p99 / max
 *   against REVOCATION_POLL_MS (the normal bound) and REVOCATION_MAX_STALENESS_MS (the bound);
 * - the memory a container holds per revoked session, and what a cold start's load costs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { logout, register } from '../lib/auth';
import { createDeps, type Deps } from '../lib/deps';
import type { AuthLogger } from '../lib/log';
import { REVOCATION_PAGE_SIZE } from '../lib/sessions/revocation-stream';
import { createSession } from '../lib/sessions/sessions';
import { issueTokens } from '../lib/tokens/token-response';
import type { MeasurePlan, MeasureResult } from './revocation-container';
import { ALGORITHMS, BENCH_PASSWORD, benchEmail, percentile, round, type Algorithm } from './support';

export interface RevocationPlan {
  measureMs: number;
  concurrency: number;
  containers: number;
  trials: number;
  memoryEntries: number;
}

export const REVOCATION_PLANS: Record<'full' | 'quick', RevocationPlan> = {
  full: { measureMs: 3000, concurrency: 16, containers: 4, trials: 150, memoryEntries: 100_000 },
  quick: { measureMs: 1000, concurrency: 16, containers: 3, trials: 40, memoryEntries: 20_000 },
};

export interface RevocationFigures {
  plan: RevocationPlan;
  pollMs: number;
  maxStalenessMs: number;
  windowSeconds: number;
  decisions: Record<Algorithm, MeasureResult>;
  delay: { samples: number; containers: number; p50Ms: number; p99Ms: number; maxMs: number; minMs: number; withinPollMs: number; withinBound: number; pollsPerContainerSecond: number };
  memory: { entries: number; bytesPerEntry: number; coldLoadMs: number; at1000PerSecondMiB: number; at1000PerSecondEntries: number };
}

/** The bench's own calls log nothing (stdout carries the tables). */
const quiet: AuthLogger = { event: () => undefined, error: () => undefined };
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

function forkContainer(env: Record<string, string>, extra: Record<string, string>, execArgv: string[] = []): ChildProcess {
  return fork(path.join(__dirname, 'revocation-container.ts'), [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...extra },
    stdio: ['ignore', process.env.BENCH_DEBUG ? 'inherit' : 'ignore', 'inherit', 'ipc'],
  });
}

function nextMessage<T>(child: ChildProcess, type: string, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' from a revocation container in ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => code !== 0 && reject(new Error(`revocation container exited with ${code}`)));
  });
}

async function sessionTokens(deps: Deps, count: number): Promise<{ accessToken: string; principal: { userId: string; sessionId: string } }[]> {
  const user = await register(deps, { email: benchEmail('revocation'), password: BENCH_PASSWORD }, { ip: '198.51.100.9', userAgent: 'bench', requestId: 'bench' });
  const device = { name: 'bench', userAgent: 'bench', ip: '198.51.100.9' };
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const session = await createSession(deps, { id: user.id, email: user.email }, device);
    const { accessToken } = await issueTokens(deps, session);
    tokens.push({ accessToken, principal: { userId: user.id, sessionId: session.sessionId } });
  }
  return tokens;
}

export async function measureRevocation(envs: Record<Algorithm, Record<string, string>>, plan: RevocationPlan): Promise<RevocationFigures> {
  const decisions = {} as Record<Algorithm, MeasureResult>;
  for (const algorithm of ALGORITHMS) {
    log(`revocation: Redis requests and CPU per decision, strict and stream, c=1 and c=${plan.concurrency} (${algorithm})`);
    const deps = await createDeps({ env: envs[algorithm], logger: quiet });
    const [session] = await sessionTokens(deps, 1);
    const measurePlan: MeasurePlan = { token: session!.accessToken, durationMs: plan.measureMs, concurrency: plan.concurrency, verifyOnlyDecisions: 5000 };
    const child = forkContainer(envs[algorithm], { BENCH_REVOCATION_MODE: 'measure', BENCH_REVOCATION_PLAN: JSON.stringify(measurePlan) });
    decisions[algorithm] = (await nextMessage<{ result: MeasureResult }>(child, 'measure')).result;
  }

  // HS256 for the delay: its verification is cheapest, so the containers' checks load the shared CPU least.
  const env = { ...envs.HS256, AUTHORIZER_REVOCATION: 'stream', MAX_SESSIONS_PER_USER: '10000' };
  const writer = await createDeps({ env, logger: quiet });
  const { pollMs, maxStalenessMs, windowMs } = writer.config.revocation;
  log(`revocation: delay, ${plan.trials} logouts watched by ${plan.containers} containers (REVOCATION_POLL_MS ${pollMs})`);
  const [background, ...doomed] = await sessionTokens(writer, plan.trials + 1);
  const containers = Array.from({ length: plan.containers }, () => forkContainer(env, { BENCH_REVOCATION_MODE: 'follow' }));
  await Promise.all(containers.map((child) => nextMessage(child, 'started')));
  await Promise.all(containers.map((child) => {
    const ready = nextMessage(child, 'ready');
    child.send({ type: 'background', token: background!.accessToken });
    return ready;
  }));
  const answeredAt: number[] = [];
  const delays: number[] = [];
  const allDenied = new Promise<void>((resolve) => {
    for (const child of containers) {
      child.on('message', (message: { type: string; id?: number; at?: number }) => {
        if (message.type !== 'denied') return;
        delays.push(message.at! - answeredAt[message.id!]!);
        if (delays.length === plan.trials * plan.containers) resolve();
      });
    }
  });
  for (let id = 0; id < doomed.length; id++) {
    // Logouts at random moments, so they fall anywhere in the containers' poll cycles.
    await sleep(20 + Math.random() * 100);
    await logout(writer, doomed[id]!.principal, { ip: '198.51.100.9', userAgent: 'bench', requestId: 'bench' });
    answeredAt[id] = now();
    for (const child of containers) child.send({ type: 'watch', id, token: doomed[id]!.accessToken });
  }
  await Promise.race([allDenied, sleep(maxStalenessMs + 10_000)]);
  const stopped = await Promise.all(containers.map((child) => {
    const done = nextMessage<{ polls: number; seconds: number }>(child, 'stopped');
    child.send({ type: 'stop' });
    return done;
  }));
  if (delays.length < plan.trials * plan.containers) throw new Error(`only ${delays.length} of ${plan.trials * plan.containers} revocations were seen`);
  delays.sort((a, b) => a - b);

  log(`revocation: memory per revoked session, cold load of ${plan.memoryEntries} entries`);
  const memoryEnv = { ...envs.HS256, REDIS_KEY_PREFIX: `${envs.HS256.REDIS_KEY_PREFIX}mem:` };
  const memoryDeps = await createDeps({ env: memoryEnv, logger: quiet });
  const [probe] = await sessionTokens(memoryDeps, 1);
  for (let done = 0; done < plan.memoryEntries; done += 1000) {
    const pipeline = memoryDeps.redis.pipeline();
    for (let i = done; i < Math.min(plan.memoryEntries, done + 1000); i++) {
      // A user id and a session id as the service makes them (128 bits, base64url).
      pipeline.xadd(memoryDeps.keys.revocations(), '*', { u: `user${String(i).padStart(18, '0')}`, s: `sess${String(i).padStart(18, '0')}` });
    }
    await pipeline.exec();
  }
  const memoryChild = forkContainer(memoryEnv, { BENCH_REVOCATION_MODE: 'memory', BENCH_TOKEN: probe!.accessToken, BENCH_ENTRIES: String(plan.memoryEntries) }, ['--expose-gc']);
  const memory = await nextMessage<{ entries: number; bytesPerEntry: number; loadMs: number }>(memoryChild, 'memory');
  const at1000 = 1000 * (windowMs / 1000);

  return {
    plan,
    pollMs,
    maxStalenessMs,
    windowSeconds: windowMs / 1000,
    decisions,
    delay: {
      samples: delays.length,
      containers: plan.containers,
      p50Ms: round(percentile(delays, 50)),
      p99Ms: round(percentile(delays, 99)),
      maxMs: round(delays[delays.length - 1]!),
      minMs: round(delays[0]!),
      withinPollMs: round(delays.filter((d) => d <= pollMs).length / delays.length, 4),
      withinBound: round(delays.filter((d) => d <= maxStalenessMs).length / delays.length, 4),
      pollsPerContainerSecond: round(Math.max(...stopped.map((s) => s.polls / s.seconds)), 2),
    },
    memory: {
      entries: memory.entries,
      bytesPerEntry: memory.bytesPerEntry,
      coldLoadMs: memory.loadMs,
      at1000PerSecondEntries: at1000,
      at1000PerSecondMiB: round((at1000 * memory.bytesPerEntry) / 1024 / 1024),
    },
  };
}

export function renderRevocation(figures: RevocationFigures, table: (header: string[], rows: (string | number)[][]) => void, lines: string[]): void {
  const { decisions: d, delay, memory } = figures;
  const cell = (f: { requestsPerDecision: number; perSecond: number }) => `${f.requestsPerDecision} (${f.perSecond}/s)`;
  table([`Redis requests per decision (decisions/s), ${figures.plan.measureMs / 1000} s per cell, a fresh container each`, ...ALGORITHMS.flatMap((a) => [`${a} c=1`, `${a} c=${figures.plan.concurrency}`])], [
    ['strict (AUTHORIZER_REVOCATION default)', ...ALGORITHMS.flatMap((a) => [cell(d[a].strict.c1), cell(d[a].strict.cN)])],
    [`stream (REVOCATION_POLL_MS ${figures.pollMs}, incl. the cold load)`, ...ALGORITHMS.flatMap((a) => [cell(d[a].stream.c1), cell(d[a].stream.cN)])],
  ]);
  table(['CPU per decision (user+sys, c=1) and p50', ...ALGORITHMS], [
    ['token verification only (the floor)', ...ALGORITHMS.map((a) => `${d[a].verifyOnlyCpuMicros} µs`)],
    ['stream mode decision', ...ALGORITHMS.map((a) => `${d[a].stream.c1.cpuMicrosPerDecision} µs (p50 ${d[a].stream.c1.p50Ms} ms)`)],
    ['strict mode decision (one HMGET)', ...ALGORITHMS.map((a) => `${d[a].strict.c1.cpuMicrosPerDecision} µs (p50 ${d[a].strict.c1.p50Ms} ms)`)],
  ]);
  table([`Revocation delay: logout answered → first deny (${delay.samples} = ${figures.plan.trials} logouts × ${delay.containers} containers)`, 'measured', 'bound'], [
    ['p50', `${delay.p50Ms} ms`, `REVOCATION_POLL_MS ${figures.pollMs} ms`],
    ['p99', `${delay.p99Ms} ms`, `REVOCATION_POLL_MS ${figures.pollMs} ms`],
    ['max (min)', `${delay.maxMs} ms (${delay.minMs} ms)`, `REVOCATION_MAX_STALENESS_MS ${figures.maxStalenessMs} ms`],
    ['share within the poll interval / within the bound', `${round(delay.withinPollMs * 100, 2)} % / ${round(delay.withinBound * 100, 2)} %`, '- / 100 %'],
    ['polls per second, busiest container (since its cold load)', delay.pollsPerContainerSecond, `≤ ${round(1000 / figures.pollMs, 2)}`],
  ]);
  lines.push(
    `Containers: forked processes, each deciding on a background token every 5 ms (so it polls as a busy container does) and on each revoked token every 2 ms from the moment the logout answered; a negative delay means the deny came before the logout's answer (the stream append goes first).`,
    '',
  );
  table(['Container memory (stream mode)', 'measured'], [
    [`heap per revoked session (cold load of ${memory.entries} entries)`, `${memory.bytesPerEntry} B`],
    [`cold load of ${memory.entries} entries (XRANGE pages of ${REVOCATION_PAGE_SIZE})`, `${memory.coldLoadMs} ms`],
    [`at 1,000 revocations/s × ${figures.windowSeconds} s window`, `${memory.at1000PerSecondEntries} entries ≈ ${memory.at1000PerSecondMiB} MiB`],
  ]);
}
