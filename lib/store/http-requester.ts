import http from 'node:http';
import https from 'node:https';
import { errors, type Requester, type UpstashRequest, type UpstashResponse } from '@upstash/redis';

export interface HttpRequesterOptions {
  /** The Upstash REST URL: `https://…` in production, `http://127.0.0.1:…` for the dev gateway. */
  url: string;
  token: string;
  /** Deadline of one request, retry included, in milliseconds. */
  timeoutMs: number;
  /** Retries after a network error, inside the same deadline (default 1). */
  retries?: number;
  /** Wait before a retry on a fresh connection (default 25 ms; a stale pooled socket retries at once). */
  retryDelayMs?: number;
  /**
   * How long an idle connection is kept for reuse (default 4 s, as undici's default under the
   * SDK's `fetch`; a shorter `Keep-Alive: timeout` hint from the server wins). Longer saves a
   * TLS handshake under sparse traffic but leans on the network to reset dead connections.
   */
  keepAliveMs?: number;
}

/** A Redis command failed to arrive in time; thrown, never answered with a made-up value. */
export class RedisTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis request timed out after ${timeoutMs} ms`);
    this.name = 'RedisTimeoutError';
  }
}

/**
 * An @upstash/redis `Requester` over `node:http`/`node:https` with a keep-alive agent: the
 * Upstash REST protocol (`POST /`, `/pipeline`, `/multi-exec`; base64 response encoding) for
 * one pooled socket write per command. The SDK's own HttpClient goes through the global
 * `fetch`, whose per-request overhead is several times that (see `createRedisClient`).
 *
 * Behaviour, relied on by `createRedisClient`:
 * - one deadline per request (`timeoutMs`) covering connect, retry and reading the body; when
 *   it passes, the socket is destroyed and the call rejects with {@link RedisTimeoutError};
 * - at most `retries` retries, and only when the command cannot have reached Redis: the
 *   connection failed before it was established (refused, unreachable), or a pooled keep-alive
 *   socket turned out stale (retried at once). A fresh connection that breaks after the
 *   request was written is not retried: the command may have run, and a second run of a
 *   non-idempotent script (a rotation, a revocation, a rate-limit count) would be wrong.
 *   Certificate errors are not retried either (the second handshake would fail the same way);
 * - a non-2xx answer rejects with the server's message as an `UpstashError` (so the SDK's
 *   NOSCRIPT fallback works); unlike the SDK's HttpClient, the message never carries the
 *   command's arguments (they may be token or password hashes);
 * - replies decoded from base64 exactly as the SDK's HttpClient does (`decode` below);
 * - no read-your-writes sync token (as `readYourWrites: false`), no telemetry headers, no
 *   streaming (SUBSCRIBE/MONITOR are refused).
 */
export function createHttpRequester(options: HttpRequesterOptions): Requester {
  const base = new URL(options.url);
  const secure = base.protocol === 'https:';
  if (!secure && base.protocol !== 'http:') throw new Error(`Unsupported Redis REST URL protocol: ${base.protocol}`);
  const transport = secure ? https : http;
  const keepAliveMs = options.keepAliveMs ?? 4000;
  // One pool per client, kept across invocations of a warm Lambda. LIFO reuse keeps the
  // most recently used (least likely stale) socket in front; `timeout` closes idle ones.
  const createAgent = () => new transport.Agent({ keepAlive: true, scheduling: 'lifo', timeout: keepAliveMs });
  let agent = createAgent();
  let active = 0;
  let idleSince = Date.now();
  // A frozen Lambda runs no timers: after a thaw, an idle socket whose close timer is overdue
  // would still be reused, and a connection the network dropped silently would only fail at
  // the deadline. So a pool idle for longer than keepAliveMs is replaced before use.
  const currentAgent = (): http.Agent => {
    if (active === 0 && Date.now() - idleSince > keepAliveMs) {
      agent.destroy();
      agent = createAgent();
    }
    return agent;
  };
  const hostname = base.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 literal without its brackets
  const basePath = base.pathname.replace(/\/+$/, '');
  const retries = options.retries ?? 1;
  const retryDelayMs = options.retryDelayMs ?? 25;
  const authorization = `Bearer ${options.token}`;
  const rootPath = `${basePath}/`;

  function request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
    if (req.isStreaming || req.onMessage) return Promise.reject(new Error('Streaming commands are not supported by this Redis client.'));
    const path = req.path && req.path.length > 0 ? `${basePath}/${req.path.join('/')}` : rootPath;
    const body = JSON.stringify(req.body);
    const headers: Record<string, string> = {
      Authorization: authorization,
      'Content-Type': 'application/json',
      'Upstash-Encoding': 'base64',
      ...req.headers,
      'Content-Length': String(Buffer.byteLength(body)),
    };

    // One promise per call, settled once by whichever comes first: the reply, a final error,
    // or the deadline. (Callbacks rather than an async retry loop: this is the hot path of
    // every decision, and each extra promise or race costs measurable CPU.)
    const pool = currentAgent();
    active++;
    return new Promise<UpstashResponse<TResult>>((resolve, reject) => {
      const deadlineAt = Date.now() + options.timeoutMs;
      let settled = false;
      let inFlight: http.ClientRequest | undefined;
      let retryTimer: NodeJS.Timeout | undefined;

      const finish = (error: unknown, status?: number, text?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(retryTimer);
        if (--active === 0) idleSince = Date.now();
        if (error !== undefined) return reject(error);
        try {
          resolve(parseReply<TResult>(status!, text!));
        } catch (parseError) {
          reject(parseError);
        }
      };

      const deadline = setTimeout(() => {
        const error = new RedisTimeoutError(options.timeoutMs);
        finish(error);
        // Destroying the socket frees it: a late reply can never be read as the next command's.
        inFlight?.destroy(error);
      }, options.timeoutMs);

      const attempt = (retriesLeft: number): void => {
        const outgoing = transport.request({ hostname, port: base.port || undefined, method: 'POST', path, headers, agent: pool });
        inFlight = outgoing;
        let answered = false;
        // Until the (TLS) connection is up, nothing of the request has left this process.
        let connected = false;
        outgoing.on('socket', (socket) => {
          if (!socket.connecting) connected = true;
          else socket.once(secure ? 'secureConnect' : 'connect', () => (connected = true));
        });
        outgoing.on('response', (response) => {
          answered = true;
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            finish(undefined, response.statusCode ?? 0, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
          );
          // The response broke off midway: the command ran, so it is not retried.
          response.on('error', (error) => finish(error));
          response.on('close', () => {
            if (!response.complete) finish(new Error('The Redis REST response was cut off.'));
          });
        });
        outgoing.on('error', (error) => {
          if (settled) return;
          const stale = outgoing.reusedSocket;
          const code = (error as NodeJS.ErrnoException).code ?? '';
          const certificate = /CERT|SELF_SIGNED|ERR_TLS/.test(code);
          if (answered || retriesLeft <= 0 || certificate || (connected && !stale)) return finish(error);
          // A pooled keep-alive socket the server had already closed: retry at once on a new one.
          const delay = stale ? 0 : retryDelayMs;
          if (Date.now() + delay >= deadlineAt) return finish(error);
          retryTimer = setTimeout(() => attempt(retriesLeft - 1), delay);
        });
        outgoing.end(body);
      };
      attempt(retries);
    });
  }

  return { readYourWrites: false, request };
}

function parseReply<TResult>(status: number, text: string): UpstashResponse<TResult> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // The body is not echoed: it may hold stored values.
    throw new errors.UpstashError(`Unable to parse the Redis REST response (HTTP ${status}).`);
  }
  if (status < 200 || status > 299) {
    const message = (body as { error?: unknown } | null)?.error;
    throw new errors.UpstashError(typeof message === 'string' ? message : `Redis REST request failed with HTTP ${status}.`);
  }
  if (Array.isArray(body)) {
    // /pipeline and /multi-exec: one {result} or {error} per command.
    return body.map(({ result, error }: UpstashResponse<unknown>) => ({ result: decode(result), error })) as UpstashResponse<TResult>;
  }
  const { result, error } = body as UpstashResponse<unknown>;
  return { result: decode(result) as TResult, error };
}

const utf8 = new TextDecoder();

/** @upstash/redis's `base64decode`: invalid base64 is returned as it came. */
function base64decode(b64: string): string {
  try {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return utf8.decode(bytes);
  } catch {
    return b64;
  }
}

/**
 * @upstash/redis's HttpClient `decode`, rule for rule: "OK" stays as it is, strings are base64,
 * numbers and null pass, arrays decode their strings and nested arrays (not other values).
 */
export function decode(raw: unknown): unknown {
  switch (typeof raw) {
    case 'undefined':
      return raw;
    case 'number':
      return raw;
    case 'object':
      if (!Array.isArray(raw)) return null;
      return raw.map((value: unknown) =>
        typeof value === 'string' ? base64decode(value) : Array.isArray(value) ? value.map((element: unknown) => decode(element)) : value,
      );
    case 'string':
      return raw === 'OK' ? 'OK' : base64decode(raw);
    default:
      return undefined;
  }
}

interface Queued {
  req: UpstashRequest;
  resolve: (response: UpstashResponse<unknown>) => void;
  reject: (error: unknown) => void;
}

/**
 * Wraps a requester so that single commands issued in the same turn of the event loop go out
 * together as one `/pipeline` request (not atomic: each command runs on its own, as with
 * separate requests). Each caller still gets its own reply, or its own error for a command
 * Redis refused; a failure of the request itself (network, deadline, non-2xx) rejects every
 * caller in it, so nothing that fails closed today can pass. A lone command is sent as it is.
 *
 * Opt-in and scoped: meant for a few independent commands a flow awaits together (the login
 * rate limits and the user lookup), not as the default, where one call = one request.
 */
export function pipelineSameTick(requester: Requester): Requester {
  let queue: Queued[] = [];

  const flush = (): void => {
    const batch = queue;
    queue = [];
    if (batch.length === 1) {
      const [only] = batch as [Queued];
      requester.request(only.req).then(only.resolve, only.reject);
      return;
    }
    requester.request<UpstashResponse<unknown>[]>({ path: ['pipeline'], body: batch.map(({ req }) => req.body) }).then(
      (replies) => {
        const entries = replies as unknown as UpstashResponse<unknown>[];
        if (!Array.isArray(entries) || entries.length !== batch.length) {
          const error = new errors.UpstashError('Malformed pipeline response.');
          for (const { reject } of batch) reject(error);
          return;
        }
        batch.forEach(({ resolve }, index) => resolve(entries[index]!));
      },
      (error: unknown) => {
        for (const { reject } of batch) reject(error);
      },
    );
  };

  return {
    readYourWrites: false,
    request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      // Only plain commands can share a pipeline; anything with a path or headers goes alone.
      if ((req.path && req.path.length > 0) || req.headers || req.isStreaming || req.onMessage) return requester.request<TResult>(req);
      return new Promise<UpstashResponse<unknown>>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ req, resolve, reject });
      }) as Promise<UpstashResponse<TResult>>;
    },
  };
}
