/**
 * Upstash-REST-compatible HTTP gateway in front of a plain redis-server.
 *
 * Lets @upstash/redis and @upstash/ratelimit run against a local Redis during
 * development, integration tests and benchmarks. Dev tooling only: it is never
 * deployed, so it favours clarity and faithful protocol behaviour over speed.
 *
 * Supported protocol (the subset the Upstash SDKs use):
 *   POST /            one command as a JSON array            -> {"result": ...} | 400 {"error"}
 *   POST /pipeline    array of commands (not atomic)         -> [{"result"} | {"error"}, ...]
 *   POST /multi-exec  array of commands in MULTI/EXEC        -> [{"result"} | {"error"}, ...]
 *   GET  /__stats, POST /__stats/reset                        (gateway-only, for benchmarks)
 *
 * Usage as a CLI:
 *   REDIS_PORT=6379 GATEWAY_PORT=8079 UPSTASH_REDIS_REST_TOKEN=dev tsx dev/gateway.ts
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Cluster, Redis } from 'ioredis';

/** One redis-server, or a Redis Cluster (commands routed by their keys' slot). */
type RedisClient = Redis | Cluster;

export interface StartGatewayOptions {
  /** The one redis-server's port (ignored when `cluster` is given). */
  redisPort?: number;
  /** The masters of a Redis Cluster (dev/redis-cluster.ts): each command goes to its key's node. */
  cluster?: { host: string; port: number }[] | undefined;
  redisHost?: string | undefined;
  /** Bearer token clients must present (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** HTTP port; 0 or omitted picks a free port. */
  port?: number | undefined;
  /** Interface to bind; defaults to loopback so the unauthenticated-by-default Redis is never exposed. */
  host?: string | undefined;
  /** Optional diagnostics sink (connection state, internal errors). Never receives command arguments. */
  log?: ((msg: string) => void) | undefined;
  /** How long a single Redis command may take before the request fails with 503 (default 5000 ms). */
  commandTimeoutMs?: number | undefined;
}

export interface GatewayStats {
  /** HTTP requests by path ("/", "/pipeline", "/multi-exec"; anything else is counted as "other"). */
  requests: Record<string, number>;
  /** Redis commands sent, by upper-case command name. */
  commands: Record<string, number>;
  /** Total Redis commands sent. */
  total: number;
  /** Commands from the fixed write-command set (scripts are counted separately). */
  writes: number;
  /** EVAL / EVALSHA / EVAL_RO / EVALSHA_RO / FCALL / FCALL_RO invocations. */
  scripts: number;
  /** Commands answered with an error (Redis errors and Redis being unavailable). */
  errors: number;
  /** ISO timestamp of the last reset (or of start-up). */
  since: string;
}

export interface Gateway {
  /** Base URL to hand to `new Redis({ url, token })`. */
  url: string;
  port: number;
  stats(): GatewayStats;
  resetStats(): void;
  close(): Promise<void>;
}

/** A command after validation: upper-case name, string arguments, optional reply fix-up. */
interface PreparedCommand {
  name: string;
  args: string[];
  /** Adjusts Redis' raw reply before encoding (used to hide the Lua shebang rewrite from clients). */
  mapReply?: (reply: unknown) => unknown;
}

type JsonReply = string | number | null | JsonReply[];
/** Per-command result before encoding: the raw ioredis reply, or a Redis error message. */
type CommandOutcome = { result: unknown } | { error: string };

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const REDIS_CONNECT_TIMEOUT_MS = 1_000;
const REDIS_RECONNECT_DELAY_MS = 200;
const INITIAL_CONNECT_WAIT_MS = 3_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/**
 * Commands that would change the state of the single shared connection
 * (subscriber mode, transactions, selected DB, auth) or park it indefinitely
 * (blocking pops) and thereby break every other client of the gateway.
 * The real Upstash REST API rejects most of these too.
 */
const UNSUPPORTED_COMMANDS = new Set([
  'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE',
  'MONITOR', 'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'SELECT', 'SWAPDB', 'QUIT',
  'RESET', 'AUTH', 'HELLO', 'SYNC', 'PSYNC', 'SHUTDOWN', 'CLIENT',
  'BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP',
]);

/** Write commands, counted for benchmarks (e.g. "writes per login"). Scripts are tracked separately. */
const WRITE_COMMANDS = new Set([
  'SET', 'SETEX', 'PSETEX', 'SETNX', 'SETRANGE', 'GETSET', 'GETDEL', 'GETEX', 'MSET', 'MSETNX', 'APPEND',
  'DEL', 'UNLINK', 'INCR', 'INCRBY', 'INCRBYFLOAT', 'DECR', 'DECRBY',
  'EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT', 'PERSIST', 'RENAME', 'RENAMENX', 'COPY', 'MOVE', 'RESTORE',
  'HSET', 'HSETNX', 'HMSET', 'HDEL', 'HINCRBY', 'HINCRBYFLOAT',
  'LPUSH', 'RPUSH', 'LPUSHX', 'RPUSHX', 'LPOP', 'RPOP', 'LSET', 'LREM', 'LTRIM', 'LINSERT', 'LMOVE',
  'RPOPLPUSH', 'LMPOP',
  'SADD', 'SREM', 'SPOP', 'SMOVE', 'SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE',
  'ZADD', 'ZINCRBY', 'ZREM', 'ZREMRANGEBYSCORE', 'ZREMRANGEBYRANK', 'ZREMRANGEBYLEX', 'ZPOPMIN', 'ZPOPMAX',
  'ZMPOP', 'ZUNIONSTORE', 'ZINTERSTORE', 'ZDIFFSTORE', 'ZRANGESTORE',
  'XADD', 'XDEL', 'XTRIM', 'XACK', 'XCLAIM', 'XAUTOCLAIM', 'XSETID', 'XGROUP',
  'PFADD', 'PFMERGE', 'SETBIT', 'BITOP', 'BITFIELD', 'GEOADD', 'GEOSEARCHSTORE',
  'FLUSHDB', 'FLUSHALL',
]);

const SCRIPT_COMMANDS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO']);

/** Shebang flags Redis 7.0 understands; anything else (e.g. Upstash's allow-key-locking) makes it reject the script. */
const REDIS_SHEBANG_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

const KNOWN_PATHS = new Set(['/', '/pipeline', '/multi-exec', '/__stats', '/__stats/reset']);

/** Client errors (400) raised while validating a request, as opposed to Redis or infrastructure errors. */
class BadRequestError extends Error {}

export async function startGateway(opts: StartGatewayOptions): Promise<Gateway> {
  const log = opts.log ?? (() => undefined);
  const host = opts.host ?? '127.0.0.1';
  const expectedTokenDigest = sha256(opts.token);
  const stats = createStatsCollector();
  const scripts = createScriptRewriter();

  const connection = {
    // Fail fast instead of queueing while Redis is down: callers get a prompt
    // 503 rather than a request that hangs until some later reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    // Keep retrying forever at a short fixed interval so the gateway heals by
    // itself when a test restarts redis-server.
    retryStrategy: () => REDIS_RECONNECT_DELAY_MS,
  };
  const redis: RedisClient = opts.cluster
    ? new Cluster(opts.cluster, {
        enableOfflineQueue: false,
        clusterRetryStrategy: () => REDIS_RECONNECT_DELAY_MS,
        redisOptions: connection,
      })
    : new Redis({ host: opts.redisHost ?? '127.0.0.1', port: opts.redisPort, ...connection });
  // Without an 'error' listener ioredis prints every reconnect failure to stderr.
  redis.on('error', (error: Error) => log(`redis connection error: ${error.message}`));
  redis.on('ready', () => log('redis connection ready'));

  try {
    await waitUntilReady(redis, INITIAL_CONNECT_WAIT_MS);
  } catch (error) {
    redis.disconnect();
    const reason = error instanceof Error ? error.message : String(error);
    const where = opts.cluster ? `the cluster at ${opts.cluster.map((node) => `${node.host}:${node.port}`).join(', ')}` : `${opts.redisHost ?? '127.0.0.1'}:${opts.redisPort}`;
    throw new Error(`gateway could not reach redis at ${where}: ${reason}`);
  }

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      // Last-resort guard: a bug here must cost one request, never the process.
      log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal gateway error' });
      else res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = normalizePath(req.url);
    const isStatsPath = path === '/__stats' || path === '/__stats/reset';
    // Stats requests are excluded so that polling them does not skew what a benchmark measures.
    if (!isStatsPath) stats.countRequest(KNOWN_PATHS.has(path) ? path : 'other');

    // Authenticate before reading the body so unauthenticated clients cannot make us buffer 10 MB.
    if (!isAuthorized(req.headers.authorization, expectedTokenDigest)) {
      sendJson(res, 401, { error: 'Unauthorized' });
      return;
    }

    if (!KNOWN_PATHS.has(path)) {
      sendJson(res, 404, { error: `Not found: ${path}` });
      return;
    }
    const expectedMethod = path === '/__stats' ? 'GET' : 'POST';
    if (req.method !== expectedMethod) {
      res.setHeader('Allow', expectedMethod);
      sendJson(res, 405, { error: `Method ${req.method ?? ''} not allowed on ${path}` });
      return;
    }

    if (path === '/__stats') {
      sendJson(res, 200, stats.snapshot());
      return;
    }
    if (path === '/__stats/reset') {
      stats.reset();
      sendJson(res, 200, { result: 'OK' });
      return;
    }

    const body = await readBody(req, res);
    if (body === undefined) return; // readBody already answered (413).

    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (error) {
      sendJson(res, 400, { error: `Malformed JSON body: ${error instanceof Error ? error.message : 'parse error'}` });
      return;
    }

    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    try {
      if (path === '/') {
        const command = prepareCommand(payload, scripts);
        const outcome = await executeSingle(redis, command, stats);
        if ('error' in outcome) sendJson(res, 400, outcome);
        else sendJson(res, 200, { result: encodeReply(outcome.result, base64) });
        return;
      }
      const commands = prepareCommandList(payload, scripts);
      const outcomes =
        path === '/pipeline'
          ? await executePipeline(redis, commands, stats)
          : await executeTransaction(redis, commands, stats);
      sendJson(
        res,
        200,
        outcomes.map((o) => ('error' in o ? o : { result: encodeReply(o.result, base64) })),
      );
    } catch (error) {
      // Redis error replies were already turned into outcomes (or BadRequestError for EXECABORT),
      // so anything else here means Redis itself is unreachable.
      if (error instanceof BadRequestError) {
        sendJson(res, 400, { error: error.message });
      } else {
        // Connection refused / closed / timed out: Redis is the problem, not the request.
        const message = error instanceof Error ? error.message : String(error);
        sendJson(res, 503, { error: `Redis unavailable: ${message}` });
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A listen() error after start-up (rare) must not become an uncaught exception.
  server.on('error', (error) => log(`http server error: ${error.message}`));

  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() alone waits for idle keep-alive sockets (fetch keeps them open), which would stall shutdown.
      server.closeAllConnections();
      await closed;
      await redis.quit().catch(() => undefined);
      // quit() cannot run while disconnected; disconnect() also cancels any pending reconnect timer.
      redis.disconnect();
    },
  };
}

// ---------------------------------------------------------------------------
// Command validation and execution
// ---------------------------------------------------------------------------

function prepareCommandList(payload: unknown, scripts: ScriptRewriter): PreparedCommand[] {
  if (!Array.isArray(payload) || payload.length === 0) {
    throw new BadRequestError('ERR body must be a non-empty JSON array of commands');
  }
  return payload.map((entry: unknown, index) => {
    try {
      return prepareCommand(entry, scripts);
    } catch (error) {
      if (error instanceof BadRequestError) throw new BadRequestError(`command ${index + 1}: ${error.message}`);
      throw error;
    }
  });
}

function prepareCommand(payload: unknown, scripts: ScriptRewriter): PreparedCommand {
  if (!Array.isArray(payload) || payload.length === 0) {
    throw new BadRequestError('ERR command must be a non-empty JSON array, e.g. ["GET","key"]');
  }
  const parts = payload.map((part: unknown) => {
    // The SDK sends numbers and booleans unquoted; Redis only knows strings.
    if (typeof part === 'string') return part;
    if (typeof part === 'number' || typeof part === 'boolean') return String(part);
    throw new BadRequestError('ERR command arguments must be strings, numbers or booleans');
  });
  const [rawName, ...args] = parts as [string, ...string[]];
  // Upper-case also sidesteps ioredis' reply transformers, which are keyed by
  // lower-case name (callBuffer('hgetall') would return an object, not an array).
  const name = rawName.toUpperCase();
  if (UNSUPPORTED_COMMANDS.has(name) || (isStreamRead(name) && args.some((a) => a.toUpperCase() === 'BLOCK'))) {
    throw new BadRequestError(`ERR command ${name} is not supported by the dev gateway`);
  }
  return scripts.rewrite({ name, args });
}

function isStreamRead(name: string): boolean {
  return name === 'XREAD' || name === 'XREADGROUP';
}

async function executeSingle(redis: RedisClient, command: PreparedCommand, stats: StatsCollector): Promise<CommandOutcome> {
  stats.countCommand(command.name);
  try {
    const reply = await redis.callBuffer(command.name, command.args);
    return { result: applyReplyMapping(command, reply) };
  } catch (error) {
    stats.countError();
    if (isReplyError(error)) return { error: error.message };
    throw error;
  }
}

async function executePipeline(redis: RedisClient, commands: PreparedCommand[], stats: StatsCollector): Promise<CommandOutcome[]> {
  // A pipeline is not atomic (Upstash's neither): on a cluster each command goes to its own
  // key's node, in order of submission, and a connection failure still fails the request.
  if (redis instanceof Cluster) {
    return Promise.all(commands.map((command) => executeSingle(redis, command, stats)));
  }
  const pipeline = redis.pipeline();
  for (const command of commands) {
    stats.countCommand(command.name);
    pipeline.callBuffer(command.name, command.args);
  }
  return collectOutcomes(commands, await pipeline.exec(), stats);
}

/**
 * ioredis' multi() writes MULTI, the commands and EXEC in one synchronous
 * burst on the shared connection, so other requests' commands cannot land
 * inside the transaction.
 */
async function executeTransaction(redis: RedisClient, commands: PreparedCommand[], stats: StatsCollector): Promise<CommandOutcome[]> {
  const transaction = redis.multi();
  for (const command of commands) {
    stats.countCommand(command.name);
    transaction.callBuffer(command.name, command.args);
  }
  try {
    return collectOutcomes(commands, await transaction.exec(), stats);
  } catch (error) {
    stats.countError();
    if (isReplyError(error)) {
      // EXECABORT: Redis refused the whole transaction because a command failed to queue.
      const previous = (error as Error & { previousErrors?: Error[] }).previousErrors ?? [];
      const details = previous.map((e) => e.message).join('; ');
      // It is the request's fault (a malformed command), hence a 400 like any other Redis error.
      throw new BadRequestError(details ? `${error.message} (${details})` : error.message);
    }
    throw error;
  }
}

function collectOutcomes(
  commands: PreparedCommand[],
  replies: [error: Error | null, result: unknown][] | null,
  stats: StatsCollector,
): CommandOutcome[] {
  // null only happens for a WATCH-aborted transaction, and WATCH is rejected up front.
  if (!replies) throw new Error('transaction aborted');
  return replies.map(([error, reply], index) => {
    if (!error) return { result: applyReplyMapping(commands[index]!, reply) };
    stats.countError();
    // A connection-level failure inside a batch fails the whole request with 503,
    // since the client cannot tell which commands actually ran.
    if (!isReplyError(error)) throw error;
    return { error: error.message };
  });
}

function applyReplyMapping(command: PreparedCommand, reply: unknown): unknown {
  return command.mapReply ? command.mapReply(reply) : reply;
}

/** ioredis exports ReplyError typed as `any`, so identify Redis error replies by name instead. */
function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

// ---------------------------------------------------------------------------
// Lua shebang rewriting
// ---------------------------------------------------------------------------

interface ScriptRewriter {
  rewrite(command: PreparedCommand): PreparedCommand;
}

/**
 * @upstash/ratelimit scripts start with `#!lua flags=allow-key-locking`, an
 * Upstash-only flag that Redis 7.0 rejects. We drop unknown flags before Redis
 * sees the script. Clients, however, compute EVALSHA digests over the original
 * text, so we remember original sha1 -> rewritten sha1 and translate.
 * Since the rewrite is a pure function of the script, the map never goes stale
 * (after SCRIPT FLUSH or a Redis restart Redis answers NOSCRIPT and the client
 * falls back to EVAL, as it would against Upstash).
 */
function createScriptRewriter(): ScriptRewriter {
  const rewrittenShaByOriginal = new Map<string, string>();

  const rewriteSource = (source: string): string => {
    const rewritten = stripUnsupportedShebangFlags(source);
    if (rewritten !== source) rewrittenShaByOriginal.set(sha1(source), sha1(rewritten));
    return rewritten;
  };
  const translateSha = (sha: string): string => rewrittenShaByOriginal.get(sha.toLowerCase()) ?? sha;

  return {
    rewrite(command) {
      const { name, args } = command;
      if ((name === 'EVAL' || name === 'EVAL_RO') && args.length > 0) {
        return { name, args: [rewriteSource(args[0]!), ...args.slice(1)] };
      }
      if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && args.length > 0) {
        // Unknown shas pass through untouched: Redis answers NOSCRIPT and the client falls back to EVAL.
        return { name, args: [translateSha(args[0]!), ...args.slice(1)] };
      }
      const subcommand = args[0]?.toUpperCase();
      if (name === 'SCRIPT' && subcommand === 'LOAD' && args.length === 2) {
        const original = args[1]!;
        const rewritten = rewriteSource(original);
        if (rewritten === original) return command;
        // Report the digest of what the client sent, since that is what it will EVALSHA with.
        const originalSha = Buffer.from(sha1(original));
        return { name, args: [args[0]!, rewritten], mapReply: (reply) => (Buffer.isBuffer(reply) ? originalSha : reply) };
      }
      if (name === 'SCRIPT' && subcommand === 'EXISTS') {
        return { name, args: [args[0]!, ...args.slice(1).map(translateSha)] };
      }
      return command;
    },
  };
}

/**
 * Rewrites a leading `#!lua flags=...` line keeping only flags Redis 7.0 knows.
 * When no flag survives the whole shebang goes (the script then behaves like
 * a classic pre-7 EVAL script, which is how Upstash-targeted scripts are
 * written anyway). The newline is kept so Lua error line numbers still match.
 */
export function stripUnsupportedShebangFlags(source: string): string {
  const match = /^#!lua([^\n]*)/.exec(source);
  if (!match) return source;
  const shebangArgs = match[1]!.trim().split(/\s+/).filter(Boolean);
  let changed = false;
  const keptArgs: string[] = [];
  for (const arg of shebangArgs) {
    if (!arg.startsWith('flags=')) {
      keptArgs.push(arg);
      continue;
    }
    const flags = arg.slice('flags='.length).split(',').filter(Boolean);
    const known = flags.filter((flag) => REDIS_SHEBANG_FLAGS.has(flag));
    if (known.length !== flags.length) changed = true;
    if (known.length > 0) keptArgs.push(`flags=${known.join(',')}`);
  }
  if (!changed) return source;
  const rest = source.slice(match[0].length);
  return keptArgs.length > 0 ? `#!lua ${keptArgs.join(' ')}${rest}` : rest;
}

// ---------------------------------------------------------------------------
// Reply encoding
// ---------------------------------------------------------------------------

/**
 * Converts an ioredis callBuffer reply to Upstash's JSON shape. With
 * `Upstash-Encoding: base64` every string is base64 (including status replies
 * like OK, which callBuffer also returns as Buffers); integers stay numbers.
 */
function encodeReply(reply: unknown, base64: boolean): JsonReply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'number') return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString('base64') : reply.toString('utf8');
  if (typeof reply === 'string') return base64 ? Buffer.from(reply, 'utf8').toString('base64') : reply;
  if (Array.isArray(reply)) return reply.map((item: unknown) => encodeReply(item, base64));
  // An error nested in an array (e.g. a Lua script returning redis.error_reply inside a table).
  if (reply instanceof Error) return encodeReply(reply.message, base64);
  return null;
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

function normalizePath(rawUrl: string | undefined): string {
  // Split by hand rather than with new URL(): "//pipeline" would parse as a host name.
  const path = (rawUrl ?? '/').split('?')[0] ?? '/';
  return path.length > 1 ? path.replace(/\/+$/, '') || '/' : '/';
}

function isAuthorized(header: string | undefined, expectedDigest: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  // Hashing first makes the comparison constant-time regardless of token length.
  return timingSafeEqual(sha256(match[1]!.trim()), expectedDigest);
}

/** Reads the request body, answering 413 (and returning undefined) when it exceeds the limit. */
async function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  const refuseTooLarge = (): undefined => {
    // Close the connection: we stop reading, so the rest of the upload cannot be framed.
    res.setHeader('Connection', 'close');
    sendJson(res, 413, { error: `Request body exceeds ${MAX_BODY_BYTES} bytes` });
    res.once('finish', () => req.destroy());
    return undefined;
  };
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return refuseTooLarge();

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return refuseTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function waitUntilReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: Error): void => {
      lastError = error;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(lastError ?? new Error(`not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}

// ---------------------------------------------------------------------------
// Stats and hashing
// ---------------------------------------------------------------------------

interface StatsCollector {
  countRequest(path: string): void;
  countCommand(name: string): void;
  countError(): void;
  snapshot(): GatewayStats;
  reset(): void;
}

function createStatsCollector(): StatsCollector {
  // Maps rather than plain objects: command names are client-controlled and
  // must not be able to collide with Object.prototype members.
  let requests = new Map<string, number>();
  let commands = new Map<string, number>();
  let total = 0;
  let writes = 0;
  let scriptCount = 0;
  let errors = 0;
  let since = new Date();

  const increment = (map: Map<string, number>, key: string): void => {
    map.set(key, (map.get(key) ?? 0) + 1);
  };

  return {
    countRequest: (path) => increment(requests, path),
    countCommand: (name) => {
      increment(commands, name);
      total++;
      if (WRITE_COMMANDS.has(name)) writes++;
      if (SCRIPT_COMMANDS.has(name)) scriptCount++;
    },
    countError: () => {
      errors++;
    },
    snapshot: () => ({
      requests: Object.fromEntries(requests),
      commands: Object.fromEntries(commands),
      total,
      writes,
      scripts: scriptCount,
      errors,
      since: since.toISOString(),
    }),
    reset: () => {
      requests = new Map();
      commands = new Map();
      total = 0;
      writes = 0;
      scriptCount = 0;
      errors = 0;
      since = new Date();
    },
  };
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

async function runCli(): Promise<void> {
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!token) {
    console.error('UPSTASH_REDIS_REST_TOKEN must be set (any non-empty dev value).');
    process.exit(1);
  }
  const gateway = await startGateway({
    redisPort: parsePort(process.env.REDIS_PORT, 6379, 'REDIS_PORT'),
    redisHost: process.env.REDIS_HOST,
    port: parsePort(process.env.GATEWAY_PORT, 8079, 'GATEWAY_PORT'),
    host: process.env.GATEWAY_HOST,
    token,
    log: (msg) => console.error(`[gateway] ${msg}`),
  });
  console.log(`Upstash-compatible gateway listening on ${gateway.url}`);
  console.log(`  UPSTASH_REDIS_REST_URL=${gateway.url}`);

  const shutdown = (): void => {
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function parsePort(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}

// `module`/`require` only exist when loaded as CommonJS (tsx); test runners may load this file as ESM.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  runCli().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
