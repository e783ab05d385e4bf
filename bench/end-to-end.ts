/**
 * End to end through serverless-offline: `GET /auth/me` (authorizer + handler, two Redis
 * requests) under autocannon, as a client sees it on this machine. The stack (dev/stack.ts)
 * bundles into a folder of its own port, so a concurrently running `npm start` or HTTP test
 * suite is not disturbed.
 */
import autocannon from 'autocannon';
import { startStack } from '../dev/stack';
import { BENCH_BCRYPT_COST, BENCH_PASSWORD, benchEmail, median, round, type Algorithm } from './support';

export interface EndToEnd {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Redis HTTP requests per `GET /auth/me`, counted at the stack's gateway. */
  redisRequestsPerCall: number;
  non2xx: number;
  errors: number;
  runs: number;
  durationSeconds: number;
  connections: number;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

function cannon(url: string, accessToken: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/auth/me`,
    method: 'GET',
    headers: { authorization: `Bearer ${accessToken}` },
    connections,
    duration: seconds,
  });
}

/** Starts the stack on `port` (lambda port + 2), measures, stops it. */
export async function measureEndToEnd(algorithm: Algorithm, port: number, plan: { runs: number; seconds: number; connections: number }): Promise<EndToEnd> {
  const stack = await startStack({
    port,
    lambdaPort: port + 2,
    output: process.env.BENCH_DEBUG ? 'inherit' : 'ignore',
    persist: false,
    env: {
      HOST: '127.0.0.1', // serverless-offline's bind address (serverless.yml reads HOST)
      JWT_ALGORITHM: algorithm,
      // serverless.yml resolves an unset JWT_PRIVATE_KEY from SSM, even under HS256 (which
      // ignores it), and that needs AWS credentials: set, empty, it resolves to ''.
      ...(algorithm === 'HS256' ? { JWT_PRIVATE_KEY: '' } : {}),
      BCRYPT_COST: String(BENCH_BCRYPT_COST),
      REDIS_KEY_PREFIX: `bench-e2e-${algorithm}:`,
      RATE_LIMIT_LOGIN_PER_IP: '1000000/60s',
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000000/60s',
      RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: '1000000/60s',
      RATE_LIMIT_REGISTER_PER_IP: '1000000/60s',
    },
  });
  try {
    const email = benchEmail('e2e');
    await post(`${stack.url}/auth/register`, { email, password: BENCH_PASSWORD });
    const { accessToken } = (await post(`${stack.url}/auth/login`, { email, password: BENCH_PASSWORD })) as { accessToken: string };

    const check = await fetch(`${stack.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    if (check.status !== 200) throw new Error(`GET /auth/me answered ${check.status}`);
    await check.arrayBuffer();
    await cannon(stack.url, accessToken, 1, plan.connections); // warm-up: handlers loaded, connections open

    const results: autocannon.Result[] = [];
    const redisPerCall: number[] = [];
    for (let run = 0; run < plan.runs; run++) {
      stack.gateway.resetStats();
      const result = await cannon(stack.url, accessToken, plan.seconds, plan.connections);
      const redisRequests = Object.values(stack.gateway.stats().requests).reduce((sum, count) => sum + count, 0);
      redisPerCall.push(redisRequests / Math.max(1, result.requests.total));
      results.push(result);
    }
    return {
      requestsPerSecond: round(median(results.map((result) => result.requests.average))),
      p50Ms: round(median(results.map((result) => result.latency.p50)), 2),
      p99Ms: round(median(results.map((result) => result.latency.p99)), 2),
      redisRequestsPerCall: round(median(redisPerCall), 2),
      non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
      errors: results.reduce((sum, result) => sum + result.errors + result.timeouts, 0),
      runs: plan.runs,
      durationSeconds: plan.seconds,
      connections: plan.connections,
    };
  } finally {
    await stack.stop();
  }
}
