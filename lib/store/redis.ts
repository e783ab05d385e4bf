import { Redis } from '@upstash/redis';
import { StoreUnavailableError } from '../errors';

export interface RedisClientOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

/**
 * The Upstash REST client, configured so that a fault is fast and loud:
 * - a fresh `AbortSignal.timeout` per request (a function, not a shared signal object: with
 *   an object the client swallows the abort and resolves `null`);
 * - one retry on network errors only, inside the same deadline (the default is 5 retries
 *   with exponential backoff, over 4 s to fail);
 * - no automatic JSON parsing of replies (the default turns the string "123" into a number);
 * - no auto-pipelining, so every call is exactly the one HTTP request it looks like.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
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

/**
 * Runs one store operation and turns any client, network or Redis error into
 * {@link StoreUnavailableError} (503), so no code path treats a fault as an answer.
 */
export async function guardStore<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new StoreUnavailableError(error);
  }
}

type Script = ReturnType<Redis['createScript']>;
const scriptCache = new WeakMap<Redis, Map<string, Script>>();

/**
 * Runs a Lua script by its SHA-1 (EVALSHA), sending the source only the first time a Redis
 * server has not seen it (NOSCRIPT), so a warm call is one small HTTP request. Faults become
 * {@link StoreUnavailableError}.
 */
export function runScript<TResult>(redis: Redis, source: string, keys: string[], args: (string | number)[]): Promise<TResult> {
  let scripts = scriptCache.get(redis);
  if (!scripts) scriptCache.set(redis, (scripts = new Map()));
  let script = scripts.get(source);
  if (!script) scripts.set(source, (script = redis.createScript(source)));
  const loaded = script;
  return guardStore(() => loaded.exec(keys, args.map(String)) as Promise<TResult>);
}

/**
 * HMGET as the raw reply, one entry per field (`null` where absent): with automatic
 * deserialization off, the client hands back the array rather than an object. One request.
 */
export async function readHashFields(redis: Redis, key: string, fields: string[]): Promise<(string | null)[]> {
  const reply: unknown = await guardStore(() => redis.hmget(key, ...fields));
  if (!Array.isArray(reply)) return fields.map(() => null);
  return fields.map((_, index) => {
    const value: unknown = reply[index];
    return typeof value === 'string' ? value : null;
  });
}
