import { Redis, type Requester } from '@upstash/redis';
import { StoreUnavailableError } from '../errors';
import { createHttpRequester, pipelineSameTick } from './http-requester';

export interface RedisClientOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

/**
 * The Upstash REST client, configured so that a fault is fast and loud:
 * - every request has its own deadline (`timeoutMs`, retry included) and throws when it
 *   passes (never resolves `null` or a made-up answer);
 * - one retry on network errors only, inside the same deadline (the SDK default is 5 retries
 *   with exponential backoff, over 4 s to fail);
 * - no automatic JSON parsing of replies (the default turns the string "123" into a number;
 *   HMGET stays the raw array);
 * - no auto-pipelining, so every call is exactly the one HTTP request it looks like;
 * - non-2xx answers and Redis errors throw; pipelines and MULTI/EXEC work as in the SDK.
 *
 * Transport: the SDK's own HttpClient sends each command with the global `fetch`, which costs
 * about 0.5 ms more CPU and 0.4 ms more latency per request than the keep-alive
 * `node:http(s)` requester used here (see {@link createHttpRequester}); for the authorizer,
 * whose whole Redis cost is one request, that is most of a decision (`npm run bench`, table
 * "authorize() by Redis transport").
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  return new RawRedis(createHttpRequester({ url: options.url, token: options.token, timeoutMs: options.timeoutMs, retries: 1 }));
}

/**
 * `new Redis(requester)` takes no options, and every command then JSON-parses its reply
 * (`automaticDeserialization` defaults to true). The options live in protected fields that
 * the config constructor fills, so this subclass sets them itself: no deserialization, no
 * latency logging, no telemetry. (Auto-pipelining is only ever set up by the config
 * constructor; the flag is cleared anyway so the object says what it does.)
 */
class RawRedis extends Redis {
  constructor(requester: Requester) {
    super(requester);
    this.opts = { automaticDeserialization: false, latencyLogging: false };
    this.enableAutoPipelining = false;
    this.enableTelemetry = false;
  }

  withSameTickPipeline(): RawRedis {
    return new RawRedis(pipelineSameTick(this.client));
  }
}

/**
 * A second client over the same connection pool whose commands issued in one turn of the
 * event loop go out as one `/pipeline` request (not atomic; each caller gets its own reply or
 * error, and a failed request fails them all, so what fails closed still does). Opt-in, for
 * independent commands a flow awaits together: e.g. the two login rate limits and the user
 * lookup become one request instead of three. Everything else keeps one call = one request.
 * A client not made by {@link createRedisClient} (a test double) is returned as it is.
 */
export function withSameTickPipeline(redis: Redis): Redis {
  return redis instanceof RawRedis ? redis.withSameTickPipeline() : redis;
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
