/**
 * One simulated authorizer container for bench/revocation.ts, in a process of its own (forked
 * with the functions' environment set, as in Lambda): its own deps, so its own view of the
 * revocation stream and its own CPU. Modes (BENCH_REVOCATION_MODE):
 *
 * - `measure`: Redis requests per decision at c=1 and c=N in both modes (gateway counters),
 *   the CPU per decision, and the verify-only floor; the figures go back over IPC.
 * - `follow`: a stream-mode container that keeps deciding on a background token (so its polls
 *   run as in a busy container) and, for each token it is told was revoked, decides every
 *   `checkEveryMs` until the first deny, which it reports with its time.
 * - `memory`: the heap a cold start's load of the window costs per revoked session.
 */
import { authorize } from '../lib/auth';
import { createDeps, type Deps } from '../lib/deps';
import { revocationFollowerOf } from '../lib/sessions/revocation-follower';
import { verifyAccessToken } from '../lib/tokens/access-token';
import { gatewayStatsClient, httpRequestsOf, percentile, round } from './support';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const send = (message: unknown) => process.send?.(message);

export interface MeasurePlan {
  token: string;
  durationMs: number;
  concurrency: number;
  verifyOnlyDecisions: number;
}

export interface DecisionFigures {
  decisions: number;
  perSecond: number;
  requestsPerDecision: number;
  p50Ms: number;
  cpuMicrosPerDecision: number;
}

export interface MeasureResult {
  strict: { c1: DecisionFigures; cN: DecisionFigures };
  stream: { c1: DecisionFigures; cN: DecisionFigures };
  verifyOnlyCpuMicros: number;
}

async function decideFor(deps: Deps, token: string, durationMs: number, concurrency: number): Promise<DecisionFigures> {
  const stats = gatewayStatsClient(process.env.UPSTASH_REDIS_REST_URL!, process.env.UPSTASH_REDIS_REST_TOKEN!);
  await stats.reset();
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - started < durationMs) {
        const at = performance.now();
        if (!(await authorize(deps, token))) throw new Error('the bench token was denied');
        latencies.push(performance.now() - at);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const requests = httpRequestsOf(await stats.read());
  latencies.sort((a, b) => a - b);
  return {
    decisions: latencies.length,
    perSecond: round((latencies.length / elapsed) * 1000),
    requestsPerDecision: round(requests / latencies.length, 5),
    p50Ms: round(percentile(latencies, 50), 3),
    cpuMicrosPerDecision: round((used.user + used.system) / latencies.length, 1),
  };
}

async function measure(plan: MeasurePlan): Promise<MeasureResult> {
  const result = {} as MeasureResult;
  for (const mode of ['strict', 'stream'] as const) {
    // A fresh container per run: the stream-mode figures include its cold load.
    const fresh = () => createDeps({ env: { ...process.env, AUTHORIZER_REVOCATION: mode }, needs: { store: true, verify: true } });
    const c1 = await decideFor(await fresh(), plan.token, plan.durationMs, 1);
    const cN = await decideFor(await fresh(), plan.token, plan.durationMs, plan.concurrency);
    result[mode] = { c1, cN };
  }
  const deps = await createDeps({ env: process.env, needs: { store: true, verify: true } });
  const cpu = process.cpuUsage();
  for (let i = 0; i < plan.verifyOnlyDecisions; i++) await verifyAccessToken(deps.keyRing, deps.config, plan.token, Date.now());
  const used = process.cpuUsage(cpu);
  result.verifyOnlyCpuMicros = round((used.user + used.system) / plan.verifyOnlyDecisions, 1);
  return result;
}

async function follow(): Promise<void> {
  const deps = await createDeps({ env: { ...process.env, AUTHORIZER_REVOCATION: 'stream' }, needs: { store: true, verify: true } });
  const checkEveryMs = Number(process.env.BENCH_CHECK_EVERY_MS ?? '2');
  let running = true;
  let decisions = 0;
  let readyAt = 0;
  process.on('message', (message: { type: string; token?: string; id?: number }) => {
    if (message.type === 'background') {
      void (async () => {
        while (running) {
          await authorize(deps, message.token!).catch(() => null);
          decisions++;
          await sleep(5);
        }
      })();
      // Ready once the cold load is done.
      void authorize(deps, message.token!).then(() => {
        readyAt = revocationFollowerOf(deps).lastSyncedAt;
        send({ type: 'ready' });
      });
    } else if (message.type === 'watch') {
      void (async () => {
        while (running) {
          const allowed = await authorize(deps, message.token!).catch(() => null);
          decisions++;
          if (!allowed) return send({ type: 'denied', id: message.id, at: now() });
          await sleep(checkEveryMs);
        }
      })();
    } else if (message.type === 'stop') {
      running = false;
      // Polls after the cold load, over the time since it was sent.
      send({ type: 'stopped', polls: revocationFollowerOf(deps).polls - 1, seconds: (Date.now() - readyAt) / 1000, decisions });
      setTimeout(() => process.exit(0), 20);
    }
  });
  send({ type: 'started' });
}

async function memory(token: string, entries: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Warm: modules loaded, code compiled, on an empty stream (another key prefix).
  const empty = await createDeps({ env: { ...process.env, AUTHORIZER_REVOCATION: 'stream', REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX}empty:` }, needs: { store: true, verify: true } });
  await authorize(empty, token);
  const deps = await createDeps({ env: { ...process.env, AUTHORIZER_REVOCATION: 'stream' }, needs: { store: true, verify: true } });
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  await authorize(deps, token);
  const loadMs = performance.now() - started;
  gc();
  const after = process.memoryUsage().heapUsed;
  const held = revocationFollowerOf(deps).size;
  send({ type: 'memory', entries: held, expected: entries, bytesPerEntry: round((after - before) / held), loadMs: round(loadMs) });
}

const mode = process.env.BENCH_REVOCATION_MODE;
const run = async () => {
  if (mode === 'measure') send({ type: 'measure', result: await measure(JSON.parse(process.env.BENCH_REVOCATION_PLAN!) as MeasurePlan) });
  else if (mode === 'follow') return follow();
  else if (mode === 'memory') await memory(process.env.BENCH_TOKEN!, Number(process.env.BENCH_ENTRIES));
  else throw new Error(`unknown BENCH_REVOCATION_MODE ${mode}`);
  setTimeout(() => process.exit(0), 20);
};
run().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
