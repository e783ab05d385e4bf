/**
 * Shared pieces of the benchmark: statistics, the gateway's request counters, the
 * configuration the functions run with, and API Gateway events as AWS sends them.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { GatewayStats } from '../dev/gateway';
import { generateHmacSecret, generateSigningKey } from '../dev/keys';

export type Algorithm = 'EdDSA' | 'HS256';
export const ALGORITHMS: Algorithm[] = ['EdDSA', 'HS256'];

/** bcrypt cost of the bench's functions: the default 12 makes each login ~4× slower for no insight (login vs compare is also measured at 12). */
export const BENCH_BCRYPT_COST = 10;

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of already sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  memoryGiB: number;
  platform: string;
  loadAverageAtStart: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((load) => round(load, 2)),
    date: new Date().toISOString(),
  };
}

/** The counters of dev/gateway.ts (its `GatewayStats`), read and reset over HTTP like any client would. */
export function gatewayStatsClient(url: string, token: string) {
  const headers = { authorization: `Bearer ${token}` };
  return {
    async reset(): Promise<void> {
      const response = await fetch(`${url}/__stats/reset`, { method: 'POST', headers });
      if (!response.ok) throw new Error(`POST /__stats/reset answered ${response.status}`);
      await response.arrayBuffer();
    },
    async read(): Promise<GatewayStats> {
      const response = await fetch(`${url}/__stats`, { headers });
      if (!response.ok) throw new Error(`GET /__stats answered ${response.status}`);
      return (await response.json()) as GatewayStats;
    },
  };
}

/** HTTP requests the gateway received, all paths together. */
export function httpRequestsOf(counts: GatewayStats): number {
  return Object.values(counts.requests).reduce((sum, count) => sum + count, 0);
}

/**
 * The functions' environment for one algorithm, with fresh keys and a key prefix of its own.
 * Limits are raised far above what the bench does (they still run, with their real cost),
 * since every bench request comes from one IP, one account and one session.
 */
export async function functionEnv(algorithm: Algorithm, redisUrl: string, redisToken: string, smtpUrl: string): Promise<Record<string, string>> {
  const keys: Record<string, string> =
    algorithm === 'HS256'
      ? { JWT_SECRET: generateHmacSecret() }
      : await generateSigningKey('EdDSA').then(({ privateJwk, publicJwk }) => ({ JWT_PRIVATE_KEY: JSON.stringify(privateJwk), JWT_PUBLIC_KEY: JSON.stringify(publicJwk) }));
  return {
    UPSTASH_REDIS_REST_URL: redisUrl,
    UPSTASH_REDIS_REST_TOKEN: redisToken,
    REDIS_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}:`,
    JWT_ALGORITHM: algorithm,
    ...keys,
    AUTH_SECRET: generateHmacSecret(),
    JWT_ISSUER: 'https://auth.bench.example.com',
    JWT_AUDIENCE: 'api.bench.example.com',
    BCRYPT_COST: String(BENCH_BCRYPT_COST),
    RATE_LIMIT_LOGIN_PER_IP: '1000000/60s',
    RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000000/60s',
    RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: '1000000/60s',
    RATE_LIMIT_REGISTER_PER_IP: '1000000/60s',
    RATE_LIMIT_REFRESH_PER_SESSION: '1000000/60s',
    RATE_LIMIT_MAIL_PER_EMAIL: '1000000/60s',
    RATE_LIMIT_MAIL_PER_IP: '1000000/60s',
    SMTP_URL: smtpUrl,
    MAIL_FROM: 'auth@bench.example.com',
    EMAIL_VERIFY_URL: 'https://app.bench.example.com/verify?token={token}',
    WEBAUTHN_RP_ID: 'app.bench.example.com',
    WEBAUTHN_ORIGINS: 'https://app.bench.example.com',
    PASSWORD_RESET_URL: 'https://app.bench.example.com/reset?token={token}',
    // No floor: the bench measures the work itself.
    MAIL_RESPONSE_FLOOR_MS: '0',
    POWERTOOLS_SERVICE_NAME: 'auth',
  };
}

export const BENCH_PASSWORD = 'correct horse battery staple';

export function benchEmail(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}@bench.example.com`;
}

const API_ID = 'abcdef1234';
const ACCOUNT = '123456789012';

function requestContext(method: string, path: string) {
  const now = Date.now();
  return {
    accountId: ACCOUNT,
    apiId: API_ID,
    domainName: `${API_ID}.execute-api.eu-west-1.amazonaws.com`,
    domainPrefix: API_ID,
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.10', userAgent: 'bench/1.0' },
    requestId: randomBytes(8).toString('base64url'),
    routeKey: `${method} ${path}`,
    stage: '$default',
    time: new Date(now).toUTCString(),
    timeEpoch: now,
  };
}

/** An HTTP API (payload 2.0) REQUEST authorizer event, as API Gateway sends it for GET /auth/me. */
export function authorizerEvent(accessToken: string) {
  const authorization = `Bearer ${accessToken}`;
  return {
    version: '2.0' as const,
    type: 'REQUEST' as const,
    routeArn: `arn:aws:execute-api:eu-west-1:${ACCOUNT}:${API_ID}/$default/GET/auth/me`,
    identitySource: [authorization],
    routeKey: 'GET /auth/me',
    rawPath: '/auth/me',
    rawQueryString: '',
    cookies: [],
    headers: {
      accept: '*/*',
      authorization,
      host: `${API_ID}.execute-api.eu-west-1.amazonaws.com`,
      'user-agent': 'bench/1.0',
      'x-forwarded-for': '198.51.100.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    queryStringParameters: {},
    requestContext: requestContext('GET', '/auth/me'),
    pathParameters: {},
    stageVariables: {},
  };
}

/** An HTTP API (payload 2.0) proxy event; `principal` = what the authorizer put in the context. */
export function httpEvent(method: string, path: string, options: { body?: unknown; principal?: { userId: string; sessionId: string }; pathParameters?: Record<string, string> } = {}) {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {
      accept: '*/*',
      host: `${API_ID}.execute-api.eu-west-1.amazonaws.com`,
      'user-agent': 'bench/1.0',
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
    },
    requestContext: {
      ...requestContext(method, path),
      ...(options.principal ? { authorizer: { lambda: options.principal } } : {}),
    },
    pathParameters: options.pathParameters,
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
  };
}

/** The Lambda context fields the handlers (and middy) read. */
export function lambdaContext(functionName: string) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:serverless-auth-bench-${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomBytes(16).toString('hex'),
    logGroupName: `/aws/lambda/serverless-auth-bench-${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
