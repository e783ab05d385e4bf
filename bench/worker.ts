/**
 * The in-process measurements for one algorithm, in a process of its own: bench/run.ts forks
 * it with the functions' environment already set, so functions/authorizer.ts builds its deps
 * at import exactly as it does in Lambda, and nothing of the other algorithm is loaded.
 * The gateway and redis-server live in other processes, so `process.cpuUsage()` here is the
 * function's own CPU. Results go back over IPC; stdout (the functions' log lines) is discarded.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { authorize, listMySessions, login, logout, logoutAll, me, refresh, register, revokeMySession } from '../lib/auth';
import { createDeps, type Deps } from '../lib/deps';
import { createMailer } from '../lib/mail/mailer';
import { confirmTotp, enrollTotp, verifyMfa, type MfaChallenge } from '../lib/mfa/mfa';
import { Secret, TOTP } from 'otpauth';
import { createSession } from '../lib/sessions/sessions';
import { createRedisClient, readHashFields } from '../lib/store/redis';
import { verifyAccessToken } from '../lib/tokens/access-token';
import { verifyPassword } from '../lib/users/passwords';
import type { User } from '../lib/users/users';
import { createFetchRedisClient } from './fetch-client';
import { authorizerEvent, BENCH_PASSWORD, benchEmail, gatewayStatsClient, httpRequestsOf, median, percentile, round } from './support';

export interface WorkerPlan {
  runs: number;
  sequentialDecisions: number;
  concurrentDecisions: number;
  concurrency: number;
  transportRuns: number;
  transportDecisions: number;
  refreshesPerRun: number;
  /** Login next to a bcrypt compare: pairs per cost (10 = the bench's cost, 12 = the default). */
  loginPairs: Record<string, number>;
  countRepeats: number;
}

export interface RunFigures {
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
  cpuMicrosPerOp: number;
}

export interface OperationCount {
  httpRequests: number;
  commands: Record<string, number>;
  writes: number;
  scripts: number;
}

export interface LoginFigures {
  bcryptCost: number;
  loginMs: number;
  compareMs: number;
  /** Median of login - compare, pair by pair: what login costs besides the password hash. */
  overheadMs: number;
  ratio: number;
  samples: number;
}

export interface WorkerResult {
  algorithm: string;
  authorizer: { sequential: RunFigures; concurrent: RunFigures };
  transports: Record<'verifyOnly' | 'roundTripOnly' | 'nodeHttp' | 'fetch', RunFigures>;
  refresh: { sequentialPerSecond: number; cpuMicrosPerRefresh: number; perCorePerSecond: number; p50Ms: number };
  login: LoginFigures[];
  /** Login with TOTP on (bench cost): the password step and the code step, medians. */
  mfaLogin: { passwordStepMs: number; codeStepMs: number; passwordStepRequests: number; codeStepRequests: number; samples: number };
  requestCounts: Record<string, OperationCount>;
}

const plan = JSON.parse(process.env.BENCH_PLAN ?? '{}') as WorkerPlan;
const contextOf = () => ({ ip: '198.51.100.10', userAgent: 'bench/1.0', requestId: randomBytes(8).toString('hex') });
const device = { name: 'bench', userAgent: 'bench/1.0', ip: '198.51.100.10' };

async function sequentialRun(count: number, operation: () => Promise<unknown>): Promise<RunFigures> {
  const latencies = new Array<number>(count);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const before = performance.now();
    await operation();
    latencies[i] = performance.now() - before;
  }
  return figuresOf(latencies, performance.now() - start, process.cpuUsage(cpu));
}

async function concurrentRun(count: number, concurrency: number, operation: () => Promise<unknown>): Promise<RunFigures> {
  const latencies: number[] = [];
  let issued = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < count) {
        issued++;
        const before = performance.now();
        await operation();
        latencies.push(performance.now() - before);
      }
    }),
  );
  return figuresOf(latencies, performance.now() - start, process.cpuUsage(cpu));
}

/** The figures of one run: latency percentiles, throughput over `wallMs`, CPU `used` per operation. */
function figuresOf(latencies: number[], wallMs: number, used: NodeJS.CpuUsage): RunFigures {
  latencies.sort((a, b) => a - b);
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    perSecond: latencies.length / (wallMs / 1000),
    cpuMicrosPerOp: (used.user + used.system) / latencies.length,
  };
}

function medianFigures(runs: RunFigures[]): RunFigures {
  return {
    p50Ms: round(median(runs.map((run) => run.p50Ms)), 3),
    p99Ms: round(median(runs.map((run) => run.p99Ms)), 3),
    perSecond: round(median(runs.map((run) => run.perSecond))),
    cpuMicrosPerOp: round(median(runs.map((run) => run.cpuMicrosPerOp)), 1),
  };
}

async function main(): Promise<WorkerResult> {
  const algorithm = process.env.JWT_ALGORITHM ?? 'EdDSA';
  const stats = gatewayStatsClient(process.env.UPSTASH_REDIS_REST_URL!, process.env.UPSTASH_REDIS_REST_TOKEN!);
  const deps = await createDeps({ createMailer });

  const newUser = async (label: string): Promise<User> => {
    const registered = await register(deps, { email: benchEmail(label), password: BENCH_PASSWORD }, contextOf());
    return { id: registered.id, email: registered.email };
  };
  const newSession = (user: User) => createSession(deps, user, device);

  // The authorizer as Lambda runs it: imported after the environment is set, its own deps.
  const { handler } = await import('../functions/authorizer');
  const user = await newUser('authorizer');
  const tokens = await login(deps, { email: user.email, password: BENCH_PASSWORD }, contextOf());
  const event = authorizerEvent(tokens.accessToken);
  const decide = async () => {
    const result = (await handler(event as never)) as { isAuthorized?: boolean };
    if (result.isAuthorized !== true) throw new Error(`the authorizer denied a valid token: ${JSON.stringify(result)}`);
  };

  const requestCounts = await countRequests(deps, stats, decide, newUser, newSession);

  // Authorizer decisions through the real handler.
  for (let i = 0; i < 2000; i++) await decide();
  const sequential: RunFigures[] = [];
  const concurrent: RunFigures[] = [];
  for (let run = 0; run < plan.runs; run++) {
    sequential.push(await sequentialRun(plan.sequentialDecisions, decide));
    concurrent.push(await concurrentRun(plan.concurrentDecisions, plan.concurrency, decide));
  }

  // The same decision through lib's authorize() with each Redis transport, and without Redis.
  const clientOptions = { url: deps.config.redisUrl, token: deps.config.redisToken, timeoutMs: deps.config.redisTimeoutMs };
  const nodeHttpDeps: Deps = { ...deps, redis: createRedisClient(clientOptions) };
  const fetchDeps: Deps = { ...deps, redis: createFetchRedisClient(clientOptions) };
  const allowed = (principal: unknown) => {
    if (!principal) throw new Error('denied');
  };
  const variants: Record<string, () => Promise<void>> = {
    roundTripOnly: rawRoundTrip(deps.config.redisUrl, deps.config.redisToken, ['HMGET', deps.keys.session(tokens.user.id, tokens.sessionId), 'uid', 'exp']),
    verifyOnly: async () => allowed(await verifyAccessToken(deps.keyRing, deps.config, tokens.accessToken, Date.now())),
    nodeHttp: async () => allowed(await authorize(nodeHttpDeps, tokens.accessToken)),
    fetch: async () => allowed(await authorize(fetchDeps, tokens.accessToken)),
  };
  const transportRuns: Record<string, RunFigures[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (const operation of Object.values(variants)) for (let i = 0; i < 1000; i++) await operation();
  // The order rotates every run, so that no variant always pays for the garbage of the one
  // before it (the fetch client leaves the most).
  const entries = Object.entries(variants);
  for (let run = 0; run < plan.transportRuns; run++) {
    for (let i = 0; i < entries.length; i++) {
      const [name, operation] = entries[(i + run) % entries.length]!;
      transportRuns[name]!.push(await sequentialRun(plan.transportDecisions, operation));
    }
  }

  // Refresh, sequential, one chain of rotations per run.
  const refreshRuns: RunFigures[] = [];
  for (let run = 0; run < plan.runs; run++) {
    let refreshToken = (await newSession(user)).refreshToken;
    const rotate = async () => {
      refreshToken = (await refresh(deps, refreshToken, contextOf())).refreshToken;
    };
    for (let i = 0; i < 200; i++) await rotate();
    refreshRuns.push(await sequentialRun(plan.refreshesPerRun, rotate));
  }
  const refreshFigures = medianFigures(refreshRuns);

  // Login next to one bcrypt compare of the same cost, interleaved so drift hits both alike.
  const loginFigures: LoginFigures[] = [];
  for (const [cost, pairs] of Object.entries(plan.loginPairs)) {
    const costDeps = cost === String(deps.config.bcryptCost) ? deps : await createDeps({ env: { ...process.env, BCRYPT_COST: cost }, createMailer });
    const email = benchEmail(`login-${cost}`);
    await register(costDeps, { email, password: BENCH_PASSWORD }, contextOf());
    const [storedHash] = await readHashFields(deps.redis, deps.keys.emailIndex(email), ['pw']);
    const loginOnce = () => login(costDeps, { email, password: BENCH_PASSWORD }, contextOf());
    const compareOnce = async () => {
      if (!(await verifyPassword(BENCH_PASSWORD, storedHash!))) throw new Error('compare failed');
    };
    await loginOnce();
    await compareOnce();
    const loginMs: number[] = [];
    const compareMs: number[] = [];
    for (let i = 0; i < pairs; i++) {
      let start = performance.now();
      await loginOnce();
      loginMs.push(performance.now() - start);
      start = performance.now();
      await compareOnce();
      compareMs.push(performance.now() - start);
    }
    loginFigures.push({
      bcryptCost: Number(cost),
      loginMs: round(median(loginMs), 1),
      compareMs: round(median(compareMs), 1),
      overheadMs: round(median(loginMs.map((ms, i) => ms - compareMs[i]!)), 2),
      ratio: round(median(loginMs) / median(compareMs), 3),
      samples: pairs,
    });
  }

  const mfaLogin = await measureMfaLogin(deps, stats);

  return {
    algorithm,
    authorizer: { sequential: medianFigures(sequential), concurrent: medianFigures(concurrent) },
    transports: {
      verifyOnly: medianFigures(transportRuns.verifyOnly!),
      roundTripOnly: medianFigures(transportRuns.roundTripOnly!),
      nodeHttp: medianFigures(transportRuns.nodeHttp!),
      fetch: medianFigures(transportRuns.fetch!),
    },
    refresh: {
      sequentialPerSecond: refreshFigures.perSecond,
      cpuMicrosPerRefresh: refreshFigures.cpuMicrosPerOp,
      perCorePerSecond: round(1e6 / refreshFigures.cpuMicrosPerOp),
      p50Ms: refreshFigures.p50Ms,
    },
    login: loginFigures,
    mfaLogin,
    requestCounts,
  };
}

/**
 * Login with TOTP on, both steps, timed and counted. A TOTP step is accepted once per user, so
 * each sample is a user of its own (enrolled with the previous step's code, verified with the
 * current one). Codes come from otpauth, as an authenticator app makes them.
 */
async function measureMfaLogin(deps: Deps, stats: ReturnType<typeof gatewayStatsClient>): Promise<WorkerResult['mfaLogin']> {
  const samples = Math.max(3, plan.countRepeats * 2);
  const passwordMs: number[] = [];
  const codeMs: number[] = [];
  let passwordRequests = 0;
  let codeRequests = 0;
  for (let i = 0; i <= samples; i++) {
    const email = benchEmail('mfa');
    await register(deps, { email, password: BENCH_PASSWORD }, contextOf());
    const first = (await login(deps, { email, password: BENCH_PASSWORD }, contextOf())) as { user: { id: string }; sessionId: string };
    const principal = { userId: first.user.id, sessionId: first.sessionId };
    const { secret } = await enrollTotp(deps, principal);
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await confirmTotp(deps, principal, { code: totp.generate({ timestamp: Date.now() - 30_000 }) }, contextOf());
    await stats.reset();
    let start = performance.now();
    const challenge = (await login(deps, { email, password: BENCH_PASSWORD }, contextOf(), { allowMfa: true })) as MfaChallenge;
    const passwordStep = performance.now() - start;
    const afterPassword = httpRequestsOf(await stats.read());
    await stats.reset();
    start = performance.now();
    await verifyMfa(deps, { mfaToken: challenge.mfaToken, code: totp.generate() }, contextOf());
    const codeStep = performance.now() - start;
    const afterCode = httpRequestsOf(await stats.read());
    if (i === 0) continue; // warm-up: scripts loaded
    passwordMs.push(passwordStep);
    codeMs.push(codeStep);
    passwordRequests = afterPassword;
    codeRequests = afterCode;
  }
  return { passwordStepMs: round(median(passwordMs), 1), codeStepMs: round(median(codeMs), 2), passwordStepRequests: passwordRequests, codeStepRequests: codeRequests, samples };
}

/**
 * The floor under any client: the same HMGET as a bare keep-alive `node:http` POST, its reply
 * read and dropped (no SDK, no parsing). What is left is the gateway and the loopback.
 */
function rawRoundTrip(url: string, token: string, command: string[]): () => Promise<void> {
  const agent = new http.Agent({ keepAlive: true });
  const body = JSON.stringify(command);
  const target = new URL(url);
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
  return () =>
    new Promise((resolve, reject) => {
      const request = http.request({ hostname: target.hostname, port: target.port, method: 'POST', path: '/', headers, agent }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`))));
      });
      request.on('error', reject);
      request.end(body);
    });
}

/**
 * Redis HTTP requests (and commands, writes, scripts) per operation, counted by the gateway.
 * Each operation runs once unmeasured first (scripts loaded, connections open), then
 * `countRepeats` times between a reset and a read of the counters; set-up happens outside.
 */
async function countRequests(
  deps: Deps,
  stats: ReturnType<typeof gatewayStatsClient>,
  decide: () => Promise<void>,
  newUser: (label: string) => Promise<User>,
  newSession: (user: User) => ReturnType<typeof createSession>,
): Promise<Record<string, OperationCount>> {
  // Its own user: logout-all below revokes every session of it.
  const user = await newUser('count');
  const principalOf = async () => ({ userId: user.id, sessionId: (await newSession(user)).sessionId });
  const loginUser = await newUser('count-login');
  const credentials = { email: loginUser.email, password: BENCH_PASSWORD };

  const operations: Record<string, { prepare: () => Promise<unknown>; run: (input: never) => Promise<unknown> }> = {
    authorizer: { prepare: async () => undefined, run: () => decide() },
    register: {
      prepare: async () => benchEmail('count-register'),
      run: (email: string) => register(deps, { email, password: BENCH_PASSWORD }, contextOf()),
    },
    login: { prepare: async () => undefined, run: () => login(deps, credentials, contextOf()) },
    refresh: {
      prepare: async () => (await newSession(user)).refreshToken,
      run: (token: string) => refresh(deps, token, contextOf()),
    },
    logout: { prepare: principalOf, run: (principal: { userId: string; sessionId: string }) => logout(deps, principal, contextOf()) },
    'logout-all': {
      prepare: async () => {
        await newSession(user);
        return principalOf();
      },
      run: (principal: { userId: string; sessionId: string }) => logoutAll(deps, principal, contextOf()),
    },
    'sessions list': { prepare: principalOf, run: (principal: { userId: string; sessionId: string }) => listMySessions(deps, principal) },
    'revoke one': {
      prepare: async () => ({ principal: await principalOf(), other: (await newSession(user)).sessionId }),
      run: (input: { principal: { userId: string; sessionId: string }; other: string }) => revokeMySession(deps, input.principal, input.other, contextOf()),
    },
    me: { prepare: principalOf, run: (principal: { userId: string; sessionId: string }) => me(deps, principal) },
  };

  const counts: Record<string, OperationCount> = {};
  for (const [name, { prepare, run }] of Object.entries(operations)) {
    await run((await prepare()) as never);
    const total: OperationCount = { httpRequests: 0, commands: {}, writes: 0, scripts: 0 };
    for (let i = 0; i < plan.countRepeats; i++) {
      const input = await prepare();
      await stats.reset();
      await run(input as never);
      const read = await stats.read();
      total.httpRequests += httpRequestsOf(read);
      total.writes += read.writes;
      total.scripts += read.scripts;
      for (const [command, count] of Object.entries(read.commands)) total.commands[command] = (total.commands[command] ?? 0) + count;
    }
    const per = (value: number) => round(value / plan.countRepeats, 2);
    counts[name] = {
      httpRequests: per(total.httpRequests),
      writes: per(total.writes),
      scripts: per(total.scripts),
      commands: Object.fromEntries(Object.entries(total.commands).map(([command, count]) => [command, per(count)])),
    };
  }
  return counts;
}

main().then(
  (result) => process.send!(result, () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
