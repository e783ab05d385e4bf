/**
 * Shared helpers for the integration tests: a capturing logger, a private redis-server +
 * gateway for tests that count requests or break Redis (never the shared one), gateway stats
 * over HTTP, and small fault injectors (a black-hole TCP port, a proxy that loses replies).
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { expect } from 'vitest';
import { startGateway, type Gateway, type GatewayStats } from '../../dev/gateway';
import { startRedisServer, type RedisServerHandle } from '../../dev/redis-server';
import { login, register, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { AuthError, type ErrorCode } from '../../lib/errors';
import type { AuthEvent, AuthEventName, AuthLogger, RequestContext } from '../../lib/log';
import { testContext } from '../support/deps';

export interface CapturedEvent extends AuthEvent {
  name: AuthEventName;
  context: RequestContext;
}

/** An AuthLogger that keeps every event and error in memory (quiet output, assertable events). */
export function captureLogger(): AuthLogger & { events: CapturedEvent[]; errors: { message: string; error: unknown }[]; named(name: AuthEventName): CapturedEvent[] } {
  const events: CapturedEvent[] = [];
  const errors: { message: string; error: unknown }[] = [];
  return {
    events,
    errors,
    event(name, context, event) {
      events.push({ name, context, ...event });
    },
    error(message, error) {
      errors.push({ message, error });
    },
    named(name) {
      return events.filter((event) => event.name === name);
    },
  };
}

/** Awaits `operation` and returns the AuthError it failed with, asserting its code. */
export async function expectAuthError(operation: Promise<unknown>, code: ErrorCode): Promise<AuthError> {
  let outcome: unknown;
  try {
    outcome = await operation;
  } catch (error) {
    expect(error, `expected AuthError(${code}), got ${String(error)}`).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe(code);
    return error as AuthError;
  }
  throw new Error(`expected AuthError(${code}), but the operation succeeded with ${JSON.stringify(outcome)}`);
}

/** The error code an operation failed with, or 'ok'. For concurrent runs with mixed outcomes. */
export async function outcomeOf<T>(operation: Promise<T>): Promise<{ code: ErrorCode | 'ok'; value?: T; error?: unknown }> {
  try {
    return { code: 'ok', value: await operation };
  } catch (error) {
    if (error instanceof AuthError) return { code: error.code, error };
    throw error;
  }
}

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(5).toString('hex')}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

/** Every rate limit off, for tests about something else. */
export const NO_LIMITS = {
  RATE_LIMIT_REGISTER_PER_IP: 'off',
  RATE_LIMIT_LOGIN_PER_IP: 'off',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
  RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT_IP: 'off',
  RATE_LIMIT_REFRESH_PER_SESSION: 'off',
};

/** Registers a fresh user and opens one session for it. */
export async function registerAndLogin(
  deps: Deps,
  options: { email?: string; password?: string; deviceName?: string; ip?: string } = {},
): Promise<{ email: string; password: string; userId: string; tokens: TokenResponse }> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? PASSWORD;
  const user = await register(deps, { email, password }, testContext(options.ip));
  const tokens = await login(deps, { email, password, deviceName: options.deviceName }, testContext(options.ip));
  return { email, password, userId: user.id, tokens };
}

/** `[field, value, field, value, ...]` (HGETALL with automatic deserialization off) as a record. */
export function flatToRecord(flat: unknown): Record<string, string> {
  expect(Array.isArray(flat)).toBe(true);
  const list = flat as string[];
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) record[list[i]!] = list[i + 1]!;
  return record;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Times an operation that may fail; returns elapsed ms and the error (if any). */
export async function timed<T>(operation: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await operation();
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/**
 * A redis-server and gateway of the test's own, for tests that count gateway requests (the
 * shared gateway sees other files' traffic) or stop Redis (the shared one must stay up).
 */
export interface OwnStore {
  env: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string };
  gatewayPort: number;
  redisPort: number;
  gateway(): Gateway;
  /** Stops redis-server (all data lost); the gateway stays up and answers 503. */
  stopRedis(): Promise<void>;
  /** Starts redis-server again on the same port (empty); the gateway reconnects by itself. */
  restartRedis(): Promise<void>;
  /** Closes the gateway (Redis keeps its data); clients get connection refused. */
  closeGateway(): Promise<void>;
  /** Starts the gateway again on the same port, in front of the same (still running) Redis. */
  restartGateway(): Promise<void>;
  /** Waits until the gateway answers a PING through Redis again. */
  waitUntilServing(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnStore(): Promise<OwnStore> {
  let redis: RedisServerHandle | undefined = await startRedisServer();
  const redisPort = redis.port;
  const token = randomBytes(24).toString('base64url');
  let gateway: Gateway | undefined = await startGateway({ redisPort, token });
  const gatewayPort = gateway.port;
  const url = gateway.url;

  const store: OwnStore = {
    env: { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token },
    gatewayPort,
    redisPort,
    gateway: () => {
      if (!gateway) throw new Error('gateway is closed');
      return gateway;
    },
    async stopRedis() {
      await redis?.stop();
      redis = undefined;
    },
    async restartRedis() {
      redis = await startRedisServer({ port: redisPort });
    },
    async closeGateway() {
      await gateway?.close();
      gateway = undefined;
    },
    async restartGateway() {
      gateway = await startGateway({ redisPort, token, port: gatewayPort });
    },
    async waitUntilServing(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '["PING"]' });
          if (res.ok) return;
        } catch {
          // not yet
        }
        if (Date.now() > deadline) throw new Error('gateway did not come back');
        await sleep(50);
      }
    },
    async stop() {
      await gateway?.close();
      await redis?.stop();
      gateway = undefined;
      redis = undefined;
    },
  };
  return store;
}

/** Gateway statistics over its HTTP endpoint (`GET /__stats`, `POST /__stats/reset`). */
export function gatewayStatsClient(env: { UPSTASH_REDIS_REST_URL: string; UPSTASH_REDIS_REST_TOKEN: string }) {
  const headers = { authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}` };
  return {
    async reset(): Promise<void> {
      const res = await fetch(`${env.UPSTASH_REDIS_REST_URL}/__stats/reset`, { method: 'POST', headers });
      expect(res.status).toBe(200);
    },
    async read(): Promise<GatewayStats> {
      const res = await fetch(`${env.UPSTASH_REDIS_REST_URL}/__stats`, { headers });
      expect(res.status).toBe(200);
      return (await res.json()) as GatewayStats;
    },
    /** Resets, runs `operation`, and returns the stats it caused. */
    async around(operation: () => Promise<unknown>): Promise<GatewayStats> {
      await this.reset();
      await operation();
      return this.read();
    },
  };
}

/** The sum of HTTP requests the gateway counted, over every path. */
export function httpRequests(stats: GatewayStats): number {
  return Object.values(stats.requests).reduce((sum, n) => sum + n, 0);
}

/** A TCP port that accepts connections and never answers: a hung Redis endpoint. */
export async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * An HTTP proxy in front of a gateway. In `lose-replies` mode it forwards each request, waits
 * for the gateway's answer (so Redis has executed the command) and then drops the connection:
 * the client sees a network error although the write happened. `lose-next-reply` does that
 * once, then passes everything (a single network blip).
 */
export type LossyMode = 'pass' | 'lose-replies' | 'lose-next-reply';

export async function startLossyProxy(targetUrl: string): Promise<{ url: string; mode: LossyMode; forwarded: number; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const state = { mode: 'pass' as LossyMode, forwarded: 0 };
  const server: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
        (upstreamRes) => {
          const body: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => body.push(chunk));
          upstreamRes.on('end', () => {
            state.forwarded++;
            if (state.mode !== 'pass') {
              if (state.mode === 'lose-next-reply') state.mode = 'pass';
              req.socket.destroy();
              return;
            }
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      upstream.on('error', () => req.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
