import { Redis } from '@upstash/redis';

/**
 * The client as lib/store/redis.ts built it before the node:http requester: the SDK's own
 * HttpClient (global `fetch`) with the same guarantees (timeout, one retry, no deserialization,
 * no auto-pipelining). Kept only to measure the two transports side by side.
 */
export function createFetchRedisClient(options: { url: string; token: string; timeoutMs: number }): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    signal: () => AbortSignal.timeout(options.timeoutMs),
    retry: { retries: 1, backoff: () => 25 },
    automaticDeserialization: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
    readYourWrites: false,
    keepAlive: true,
  });
}
