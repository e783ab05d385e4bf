/**
 * `npm run bench`: the service's performance figures on this machine, printed as a table and
 * written to bench/results.json. Starts its own redis-server and Upstash-REST gateway (and,
 * for the end-to-end figures, a serverless-offline stack per algorithm on ports 3200/3210);
 * only ever talks to 127.0.0.1, for a bounded number of requests. About 4 minutes (1½ of them the revocation sections).
 *
 *   npm run bench                      full run, writes bench/results.json
 *   npm run bench -- --quick           rough pass (fewer, shorter runs), writes nothing
 *   npm run bench -- --no-e2e          without serverless-offline
 *   npm run bench -- --only=revocation the revocation stream sections only (docs/revocation.md);
 *                                      prints its tables, writes nothing (add --quick: fewer trials)
 *   BENCH_DEBUG=1 npm run bench        show the functions' and serverless-offline's output
 *
 * Every figure is the median of several runs. See docs/performance.md for what they mean.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startGateway } from '../dev/gateway';
import { startMaildev } from '../dev/maildev';
import { startRedisCluster } from '../dev/redis-cluster';
import { startRedisServer } from '../dev/redis-server';
import { buildBundles, measureColdStarts, type Bundle, type ColdStart } from './cold-start';
import { measureEndToEnd, type EndToEnd } from './end-to-end';
import { measureRevocation, renderRevocation, REVOCATION_PLANS, type RevocationFigures } from './revocation';
import { measureFootprint, measureThroughput, type StorageFigures, type Throughput } from './storage';
import { CLIENT_SIZE_LIMIT_BYTES, clientSize } from '../dev/build-client';
import { ALGORITHMS, BENCH_BCRYPT_COST, functionEnv, machineInfo, round, type Algorithm } from './support';
import type { WorkerPlan, WorkerResult } from './worker';

const ROOT = path.resolve(__dirname, '..');
const QUICK = process.argv.includes('--quick');
const SKIP_E2E = process.argv.includes('--no-e2e');
const ONLY = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const REVOCATION_PLAN = REVOCATION_PLANS[QUICK ? 'quick' : 'full'];

const WORKER_PLAN: WorkerPlan = QUICK
  ? { runs: 3, sequentialDecisions: 500, concurrentDecisions: 1000, concurrency: 16, transportRuns: 3, transportDecisions: 500, refreshesPerRun: 200, loginPairs: { 10: 3 }, countRepeats: 2 }
  : { runs: 5, sequentialDecisions: 2000, concurrentDecisions: 4000, concurrency: 16, transportRuns: 5, transportDecisions: 2000, refreshesPerRun: 1000, loginPairs: { 10: 9, 12: 5 }, countRepeats: 3 };
const COLD_RUNS = QUICK ? 2 : 5;
const E2E_PLAN = QUICK ? { runs: 1, seconds: 3, connections: 10 } : { runs: 3, seconds: 5, connections: 10 };
const E2E_PORTS: Record<Algorithm, number> = { EdDSA: 3200, HS256: 3210 };
const THROUGHPUT_PLAN = QUICK ? { runs: 1, operations: 1000, concurrency: 16 } : { runs: 3, operations: 4000, concurrency: 16 };
/** SPEC "Storage and scale": a session's footprint does not grow with its rotations. */
const SESSION_BYTES_LIMIT = 2048;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

function runWorker(env: Record<string, string>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, BENCH_PLAN: JSON.stringify(WORKER_PLAN) },
      // stdout carries the functions' log lines: discarded, as CloudWatch would take them.
      stdio: ['ignore', process.env.BENCH_DEBUG ? 'inherit' : 'ignore', 'inherit', 'ipc'],
    });
    let result: WorkerResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('message', (message) => (result = message as WorkerResult));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`bench worker (${env.JWT_ALGORITHM}) exited with ${code}`));
    });
  });
}

interface Results {
  machine: ReturnType<typeof machineInfo>;
  settings: Record<string, unknown>;
  algorithms: Record<Algorithm, { worker: WorkerResult; coldStarts: Record<string, ColdStart>; endToEnd?: EndToEnd }>;
  bundles: Record<string, { bytes: number; kib: number }>;
  /** The client SDK as an app ships it (bundled, minified, gzipped; the WebAuthn chunk excluded). */
  client: { minifiedBytes: number; gzippedBytes: number };
  storage: StorageFigures;
  throughput: { single: Throughput; cluster: Throughput };
  revocation: RevocationFigures;
  targets: { target: string; measured: string; met: boolean }[];
  durationSeconds: number;
}

/** `--only=revocation`: the revocation stream sections alone, printed; bench/results.json is left as it is. */
async function onlyRevocation(): Promise<void> {
  const redis = await startRedisServer({ dir: path.join(ROOT, '.tmp') });
  const token = randomBytes(24).toString('base64url');
  const gateway = await startGateway({ redisPort: redis.port, token });
  try {
    const envs = {} as Record<Algorithm, Record<string, string>>;
    for (const algorithm of ALGORITHMS) envs[algorithm] = await functionEnv(algorithm, gateway.url, token, 'smtp://127.0.0.1:1');
    const figures = await measureRevocation(envs, REVOCATION_PLAN);
    const lines: string[] = [];
    renderRevocation(figures, tableInto(lines), lines);
    const machine = machineInfo();
    process.stdout.write(`Machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}; load average at start ${machine.loadAverageAtStart.join(' / ')}; ${machine.date}.\n\n${lines.join('\n')}\n`);
    log('done (--only=revocation: bench/results.json not written)');
  } finally {
    await gateway.close();
    await redis.stop();
  }
}

function tableInto(lines: string[]) {
  return (header: string[], rows: (string | number)[][]) => {
    lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
}

async function main(): Promise<void> {
  if (ONLY === 'revocation') return onlyRevocation();
  if (ONLY) throw new Error(`--only=${ONLY}: the only section that runs alone is "revocation"`);
  const started = performance.now();
  const machine = machineInfo();
  log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}${QUICK ? ' (quick)' : ''}`);

  const redis = await startRedisServer({ dir: path.join(ROOT, '.tmp') });
  const token = randomBytes(24).toString('base64url');
  const gateway = await startGateway({ redisPort: redis.port, token });
  const maildev = await startMaildev();
  const algorithms = {} as Results['algorithms'];
  let bundles: Bundle[] = [];
  let storage: StorageFigures | undefined;
  let client: Results['client'] | undefined;
  const throughput = {} as Results['throughput'];
  let revocation: RevocationFigures | undefined;
  const envs = {} as Record<Algorithm, Record<string, string>>;
  try {
    for (const algorithm of ALGORITHMS) {
      envs[algorithm] = await functionEnv(algorithm, gateway.url, token, maildev.smtpUrl);
      log(`${algorithm}: authorizer, transports, refresh, login, request counts`);
      algorithms[algorithm] = { worker: await runWorker(envs[algorithm]), coldStarts: {} };
    }
    log('building bundles');
    bundles = await buildBundles(path.join(ROOT, '.tmp', 'bench-bundles'));
    log('client SDK size');
    client = await clientSize();
    for (const algorithm of ALGORITHMS) {
      log(`${algorithm}: cold starts (${COLD_RUNS} per function)`);
      algorithms[algorithm].coldStarts = await measureColdStarts(bundles, envs[algorithm], COLD_RUNS);
    }
    log('storage: Redis bytes per session after 1, 100 and 3,000 refreshes, and per user');
    storage = await measureFootprint(envs.EdDSA);
    log(`throughput: authorize() and refresh(), c=${THROUGHPUT_PLAN.concurrency}, single redis-server`);
    throughput.single = await measureThroughput(envs.EdDSA, THROUGHPUT_PLAN);
    revocation = await measureRevocation(envs, REVOCATION_PLAN);
  } finally {
    await gateway.close();
    await maildev.stop();
    await redis.stop();
  }
  const cluster = await startRedisCluster({ dir: path.join(ROOT, '.tmp', 'bench-cluster') });
  const clusterGateway = await startGateway({ cluster: cluster.nodes, token });
  try {
    log(`throughput: authorize() and refresh(), c=${THROUGHPUT_PLAN.concurrency}, three-master Redis Cluster`);
    throughput.cluster = await measureThroughput({ ...envs.EdDSA, UPSTASH_REDIS_REST_URL: clusterGateway.url }, THROUGHPUT_PLAN);
  } finally {
    await clusterGateway.close();
    await cluster.stop();
  }
  if (!SKIP_E2E) {
    for (const algorithm of ALGORITHMS) {
      log(`${algorithm}: end to end through serverless-offline on 127.0.0.1:${E2E_PORTS[algorithm]}`);
      algorithms[algorithm].endToEnd = await measureEndToEnd(algorithm, E2E_PORTS[algorithm], E2E_PLAN);
    }
  }

  const results: Results = {
    machine,
    settings: {
      quick: QUICK,
      bcryptCost: BENCH_BCRYPT_COST,
      worker: WORKER_PLAN,
      coldStartRuns: COLD_RUNS,
      endToEnd: SKIP_E2E ? 'skipped' : E2E_PLAN,
      redis: 'local redis-server behind dev/gateway.ts (Upstash REST over HTTP/1.1 on 127.0.0.1)',
    },
    algorithms,
    bundles: Object.fromEntries(bundles.map((bundle) => [bundle.name, { bytes: bundle.bytes, kib: round(bundle.bytes / 1024, 1) }])),
    client: client!,
    storage: storage!,
    throughput,
    revocation: revocation!,
    targets: [],
    durationSeconds: 0,
  };
  results.targets = evaluateTargets(results);
  results.durationSeconds = round((performance.now() - started) / 1000);
  if (!QUICK) writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderTable(results)}\n`);
  log(`done in ${results.durationSeconds} s${QUICK ? ' (quick: bench/results.json not written)' : ', bench/results.json written'}`);
}

function evaluateTargets(results: Results): Results['targets'] {
  const targets: Results['targets'] = [];
  const add = (target: string, measured: string, met: boolean) => targets.push({ target, measured, met });
  const counts = results.algorithms.HS256.worker.requestCounts;
  const authorizer = counts.authorizer!;
  add('authorizer: 1 Redis HTTP request, 0 writes per decision', `${authorizer.httpRequests} request, ${authorizer.writes} writes, ${authorizer.scripts} scripts`, authorizer.httpRequests <= 1 && authorizer.writes === 0 && authorizer.scripts === 0);
  // SPEC "Storage and scale": the one request-budget table.
  const budgets: [string, number][] = [['refresh', 1], ['login', 2], ['logout', 1], ['logout-all', 2], ['sessions list', 2], ['revoke one', 2]];
  for (const [name, budget] of budgets) add(`${name} ≤ ${budget} Redis HTTP request${budget > 1 ? 's' : ''}`, `${counts[name]!.httpRequests}`, counts[name]!.httpRequests <= budget);
  const hs = results.algorithms.HS256.worker.authorizer.sequential;
  add('authorizer p50 ≤ 0.35 ms (HS256, c=1)', `${hs.p50Ms} ms`, hs.p50Ms <= 0.35);
  add('authorizer CPU ≤ 250 µs per decision (HS256)', `${hs.cpuMicrosPerOp} µs`, hs.cpuMicrosPerOp <= 250);
  for (const algorithm of ALGORITHMS) {
    const { worker, coldStarts } = results.algorithms[algorithm];
    add(`refresh ≥ 1,200/s per core (${algorithm})`, `${worker.refresh.perCorePerSecond}/s`, worker.refresh.perCorePerSecond >= 1200);
    for (const figures of worker.login) {
      add(`login ≤ 1.1× one bcrypt compare (${algorithm}, cost ${figures.bcryptCost})`, `${figures.ratio}× (+${figures.overheadMs} ms)`, figures.ratio <= 1.1);
    }
    const slowest = Object.entries(coldStarts).sort((a, b) => b[1].coldOverheadMs - a[1].coldOverheadMs)[0];
    const slowestTotal = Object.entries(coldStarts).sort((a, b) => b[1].totalMs - a[1].totalMs)[0];
    if (slowest && slowestTotal) {
      add(
        `cold init ≤ 150 ms per function (${algorithm}; load + 1st invoke − warm invoke)`,
        `max ${slowest[1].coldOverheadMs} ms (${slowest[0]}); incl. the request's own work max ${slowestTotal[1].totalMs} ms (${slowestTotal[0]})`,
        slowest[1].coldOverheadMs <= 150,
      );
    }
  }
  const { revocation } = results;
  add(
    `stream mode: revocation seen within REVOCATION_MAX_STALENESS_MS (${revocation.maxStalenessMs} ms)`,
    `max ${revocation.delay.maxMs} ms, p99 ${revocation.delay.p99Ms} ms over ${revocation.delay.samples}`,
    revocation.delay.maxMs <= revocation.maxStalenessMs,
  );
  const streamRequests = Math.max(...ALGORITHMS.flatMap((a) => [revocation.decisions[a].stream.c1.requestsPerDecision, revocation.decisions[a].stream.cN.requestsPerDecision]));
  add('stream mode: < 0.01 Redis requests per decision (c=1 and c=16)', `max ${streamRequests}`, streamRequests < 0.01);
  for (const footprint of results.storage.perSession) {
    add(`session ≤ 2 KiB after ${footprint.refreshes} refreshes (hash + index)`, `${footprint.total} B`, footprint.total <= SESSION_BYTES_LIMIT);
  }
  // nodemailer is most of the three functions that mail (~260 KB minified); the others stay small.
  // login, refresh and mfa mail security notices (lib/security/notices.ts).
  const MAIL_FUNCTIONS = new Set(['register', 'email', 'password', 'login', 'refresh', 'mfa']);
  const bySize = (entries: [string, { bytes: number; kib: number }][]) => entries.sort((a, b) => b[1].bytes - a[1].bytes)[0];
  // Functions that verify WebAuthn ceremonies carry @simplewebauthn/server, whose attestation
  // and certificate code (@peculiar/x509, asn1js) is ~400 KB on its own, however little of it is
  // imported (docs/performance.md); mfa loads it lazily, at the first passkey answer.
  // Both also mail (notices): nodemailer's ~250 KB on top. Their cold start is the measure that
  // matters, and it has its own target (cold init ≤ 150 ms) above.
  const WEBAUTHN_FUNCTIONS = new Set(['passkeys', 'mfa']);
  const largestWebAuthn = bySize(Object.entries(results.bundles).filter(([name]) => WEBAUTHN_FUNCTIONS.has(name)));
  if (largestWebAuthn) add('bundle ≤ 1,000 KB per function that verifies passkeys and mails (@simplewebauthn/server + nodemailer)', `max ${largestWebAuthn[1].kib} KiB (${largestWebAuthn[0]})`, largestWebAuthn[1].bytes <= 1000 * 1000);
  const largest = bySize(Object.entries(results.bundles).filter(([name]) => !MAIL_FUNCTIONS.has(name) && !WEBAUTHN_FUNCTIONS.has(name)));
  if (largest) add('bundle ≤ 400 KB per other function that sends no mail', `max ${largest[1].kib} KiB (${largest[0]})`, largest[1].bytes <= 400 * 1000);
  const largestMail = bySize(Object.entries(results.bundles).filter(([name]) => MAIL_FUNCTIONS.has(name) && !WEBAUTHN_FUNCTIONS.has(name)));
  if (largestMail) add('bundle ≤ 500 KB per other function that mails (nodemailer, loaded at the first send)', `max ${largestMail[1].kib} KiB (${largestMail[0]})`, largestMail[1].bytes <= 500 * 1000);
  const sdk = results.client;
  add(`client SDK ≤ ${CLIENT_SIZE_LIMIT_BYTES / 1024} KB minified + gzipped`, `${round(sdk.gzippedBytes / 1024, 1)} KiB (${round(sdk.minifiedBytes / 1024, 1)} KiB minified)`, sdk.gzippedBytes <= CLIENT_SIZE_LIMIT_BYTES);
  return targets;
}

function renderTable(results: Results): string {
  const { machine } = results;
  const lines: string[] = [];
  const table = (header: string[], rows: (string | number)[][]) => {
    lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
  const both = (pick: (algorithm: Algorithm) => string | number) => ALGORITHMS.map(pick);
  const w = (algorithm: Algorithm) => results.algorithms[algorithm].worker;

  lines.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}; load average at start ${machine.loadAverageAtStart.join(' / ')}; ${machine.date}.`,
    `Redis: local redis-server behind dev/gateway.ts on 127.0.0.1 (no network latency: a real Upstash round trip adds ~1-2 ms in-region). Medians of ${WORKER_PLAN.runs} runs unless noted; bcrypt cost ${BENCH_BCRYPT_COST} (the default 12 is ~4× slower) except the login comparison at 12.`,
    '',
  );

  table(['Authorizer decision (real handler, in-process)', ...ALGORITHMS], [
    ['p50 / p99 latency, c=1', ...both((a) => `${w(a).authorizer.sequential.p50Ms} / ${w(a).authorizer.sequential.p99Ms} ms`)],
    ['decisions/s, c=1', ...both((a) => w(a).authorizer.sequential.perSecond)],
    [`decisions/s, c=${WORKER_PLAN.concurrency}`, ...both((a) => w(a).authorizer.concurrent.perSecond)],
    [`p50 / p99 latency, c=${WORKER_PLAN.concurrency}`, ...both((a) => `${w(a).authorizer.concurrent.p50Ms} / ${w(a).authorizer.concurrent.p99Ms} ms`)],
    ['CPU per decision (user+sys), c=1', ...both((a) => `${w(a).authorizer.sequential.cpuMicrosPerOp} µs`)],
    [`CPU per decision, c=${WORKER_PLAN.concurrency}`, ...both((a) => `${w(a).authorizer.concurrent.cpuMicrosPerOp} µs`)],
  ]);

  table([`authorize() by Redis transport, c=1 (${WORKER_PLAN.transportRuns} runs)`, ...ALGORITHMS.flatMap((a) => [`${a} p50`, `${a} CPU`])], [
    ['gateway round trip only (bare node:http POST of the HMGET, reply dropped)', ...ALGORITHMS.flatMap((a) => [`${w(a).transports.roundTripOnly.p50Ms} ms`, `${w(a).transports.roundTripOnly.cpuMicrosPerOp} µs`])],
    ['token verification only (no Redis)', ...ALGORITHMS.flatMap((a) => [`${w(a).transports.verifyOnly.p50Ms} ms`, `${w(a).transports.verifyOnly.cpuMicrosPerOp} µs`])],
    ['+ session read, node:http keep-alive requester (in use)', ...ALGORITHMS.flatMap((a) => [`${w(a).transports.nodeHttp.p50Ms} ms`, `${w(a).transports.nodeHttp.cpuMicrosPerOp} µs`])],
    ['+ session read, SDK HttpClient over global fetch (before)', ...ALGORITHMS.flatMap((a) => [`${w(a).transports.fetch.p50Ms} ms`, `${w(a).transports.fetch.cpuMicrosPerOp} µs`])],
  ]);

  const counts = w('EdDSA').requestCounts;
  table(['Redis per operation (gateway counters, scripts warm)', 'HTTP requests', 'commands', 'plain writes', 'scripts'],
    Object.entries(counts).map(([name, count]) => [
      name,
      count.httpRequests,
      Object.entries(count.commands).map(([command, n]) => `${command}×${n}`).join(' ') || '-',
      count.writes,
      count.scripts,
    ]),
  );

  table(['Refresh and login (lib, in-process, sequential)', ...ALGORITHMS], [
    ['refresh: CPU per refresh', ...both((a) => `${w(a).refresh.cpuMicrosPerRefresh} µs`)],
    ['refresh: per core (1 s / CPU per refresh)', ...both((a) => `${w(a).refresh.perCorePerSecond}/s`)],
    ['refresh: sequential, one chain (wall clock)', ...both((a) => `${w(a).refresh.sequentialPerSecond}/s (p50 ${w(a).refresh.p50Ms} ms)`)],
    ['login with TOTP on: password step (bcrypt, then the challenge)', ...both((a) => `${w(a).mfaLogin.passwordStepMs} ms, ${w(a).mfaLogin.passwordStepRequests} Redis requests`)],
    ['login with TOTP on: code step (the session, aal 2)', ...both((a) => `${w(a).mfaLogin.codeStepMs} ms, ${w(a).mfaLogin.codeStepRequests} Redis requests`)],
    ...w('EdDSA').login.map((_, index) => {
      const { bcryptCost, samples } = w('EdDSA').login[index]!;
      return [
        `login vs one bcrypt compare (cost ${bcryptCost}, ${samples} pairs)`,
        ...both((a) => {
          const figures = w(a).login[index]!;
          return `${figures.loginMs} vs ${figures.compareMs} ms = ${figures.ratio}× (+${figures.overheadMs} ms)`;
        }),
      ];
    }),
  ]);

  const { storage, throughput } = results;
  table(['Redis bytes (MEMORY USAGE, EdDSA)', ...storage.perSession.map((f) => `after ${f.refreshes} refresh${f.refreshes === 1 ? '' : 'es'}`)], [
    ['session hash', ...storage.perSession.map((f) => `${f.sessionBytes} B`)],
    ['its user index (one entry)', ...storage.perSession.map((f) => `${f.indexBytes} B`)],
    ['per session', ...storage.perSession.map((f) => `${f.total} B`)],
  ]);
  lines.push(
    `Refreshes ${storage.refreshIntervalMinutes} simulated minutes apart (3,000 = 31 days). Per user, besides sessions: record ${storage.perUser.recordBytes} B + email index ${storage.perUser.emailIndexBytes} B = ${storage.perUser.total} B; security events ${storage.perUser.securityEvents.one} B with one event, ${storage.perUser.securityEvents.full} B at the cap of 100 (browser user agents). Before the v2 store a session grew by ~94 B per refresh (64 KB after a week of 15-minute refreshes).`,
    '',
  );
  table([`lib/ through the gateway, c=${throughput.single.concurrency} (median of ${THROUGHPUT_PLAN.runs})`, 'single redis-server', 'Redis Cluster (3 masters)'], [
    ['authorize(): decisions/s', throughput.single.authorizerPerSecond, throughput.cluster.authorizerPerSecond],
    ['authorize(): p50', `${throughput.single.authorizerP50Ms} ms`, `${throughput.cluster.authorizerP50Ms} ms`],
    ['refresh(): rotations/s', throughput.single.refreshPerSecond, throughput.cluster.refreshPerSecond],
    ['refresh(): p50', `${throughput.single.refreshP50Ms} ms`, `${throughput.cluster.refreshP50Ms} ms`],
  ]);
  lines.push('Both on this one 2-core machine, client, gateway and every Redis node alike: the cluster column shows that each operation runs in one slot at no extra round trip, not the extra capacity of more machines.', '');

  const cold = (algorithm: Algorithm, name: string) => results.algorithms[algorithm].coldStarts[name];
  table(['Function', 'bundle', ...ALGORITHMS.map((a) => `${a}: load + 1st invoke = total (warm invoke; cold overhead)`)],
    Object.entries(results.bundles).map(([name, bundle]) => [
      name,
      `${bundle.kib} KiB`,
      ...both((a) => {
        const c = cold(a, name);
        return c ? `${c.loadMs} + ${c.firstInvokeMs} = ${c.totalMs} ms (${c.warmInvokeMs}; ${c.coldOverheadMs})` : '-';
      }),
    ]),
  );
  lines.push(
    `Cold start: esbuild bundle (as serverless.yml custom.esbuild builds it) required in a fresh node (no source maps, as deployed), then a first and a second invocation; median of ${COLD_RUNS}. Cold overhead = total - warm invoke, i.e. without the request's own work (login/register: one bcrypt at cost ${BENCH_BCRYPT_COST}). Node's own start-up (~${cold('EdDSA', 'me')?.bootMs ?? '?'} ms here) is not included.`,
    '',
  );

  if (!SKIP_E2E) {
    table(['End to end: GET /auth/me via serverless-offline (autocannon)', ...ALGORITHMS], [
      ['requests/s', ...both((a) => results.algorithms[a].endToEnd?.requestsPerSecond ?? '-')],
      ['p50 / p99 latency', ...both((a) => `${results.algorithms[a].endToEnd?.p50Ms} / ${results.algorithms[a].endToEnd?.p99Ms} ms`)],
      ['Redis requests per call (authorizer + me)', ...both((a) => results.algorithms[a].endToEnd?.redisRequestsPerCall ?? '-')],
      ['non-2xx / errors', ...both((a) => `${results.algorithms[a].endToEnd?.non2xx} / ${results.algorithms[a].endToEnd?.errors}`)],
    ]);
    lines.push(`End to end: ${E2E_PLAN.connections} connections, ${E2E_PLAN.seconds} s per run, median of ${E2E_PLAN.runs} runs after a 1 s warm-up; serverless-offline --useInProcess, so its own overhead dominates.`, '');
  }

  renderRevocation(results.revocation, table, lines);

  table(['Target', 'measured', 'met'], results.targets.map((t) => [t.target, t.measured, t.met ? 'yes' : '**no**']));
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
