/**
 * The Redis REST client itself (lib/store/http-requester.ts behind lib/store/redis.ts), over
 * real sockets on 127.0.0.1: local node:http(s) servers that misbehave on purpose, the shared
 * gateway, and a gateway of this file's own where requests are counted.
 *
 * Proven here: one deadline per request (hung endpoint, body stalled mid-way); a reply cut off
 * is never retried; a fresh connection that breaks after the request was written is never
 * retried, a refused one is retried once after retryDelayMs, a stale pooled socket at once; a non-2xx answer never echoes the body or the
 * command's arguments, and NOSCRIPT still reaches the SDK's EVAL fallback; replies decode
 * exactly as the SDK's own HttpClient decodes them; pipelines and MULTI/EXEC (per-command
 * errors included); a URL path prefix over http and https; same-tick pipelining; and the idle
 * pool being replaced after keepAliveMs.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errors, Redis } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../lib/errors';
import { createHttpRequester, RedisTimeoutError } from '../../lib/store/http-requester';
import { createRedisClient, guardStore, withSameTickPipeline } from '../../lib/store/redis';
import { expectAuthError, gatewayStatsClient, sleep, startBlackHole, startOwnStore, timed, type OwnStore } from './helpers';

/** A short deadline keeps the file fast; the slack absorbs timer and scheduling jitter. */
const TIMEOUT_MS = 300;
const SLACK_MS = 250;
const TOKEN = 'test-token';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// ---------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const uid = (): string => randomBytes(6).toString('hex');

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the whole request had arrived. */
  at: number;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, index: number, body: string) => void;

interface FakeRest {
  url: string;
  /** Every request that reached the handler, in order of arrival. */
  requests: Recorded[];
  /** Every TCP connection accepted, in order. */
  connections: Socket[];
  closedConnections(): number;
}

/**
 * A node:http (or node:https) server on 127.0.0.1 that records every request and connection
 * and lets `handler` answer (or not). Closed after the test.
 */
async function startFakeRest(handler: Handler, tls?: { key: string; cert: string }): Promise<FakeRest> {
  const requests: Recorded[] = [];
  const connections: Socket[] = [];
  let closed = 0;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const index = requests.length;
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: performance.now(), socket: req.socket });
      handler(req, res, index, body);
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, onRequest) : http.createServer(onRequest);
  server.on('connection', (socket: Socket) => {
    connections.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => closed++);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, requests, connections, closedConnections: () => closed };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Answers every request with `{"result": base64(value)}`, as the REST API does for a string. */
const answer =
  (value: string): Handler =>
  (_req, res) =>
    sendJson(res, 200, { result: b64(value) });

/** A connection reset (RST) after the request arrived, before any byte of a response. */
const reset: Handler = (req) => {
  req.socket.resetAndDestroy();
};

/** Awaits a promise expected to reject and returns its error. */
async function rejectionOf(operation: Promise<unknown>): Promise<Error> {
  try {
    const value = await operation;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
}

function sharedGateway(): { url: string; token: string } {
  return { url: inject('gatewayUrl'), token: inject('gatewayToken') };
}

// ---------------------------------------------------------------------------
// 1-2. One deadline per request
// ---------------------------------------------------------------------------

describe('deadline', () => {
  it('a hung endpoint (accepts, never answers): rejects at timeoutMs with RedisTimeoutError; guardStore makes it service_unavailable', async () => {
    const hole = await startBlackHole();
    cleanups.push(hole.close);

    const requester = createHttpRequester({ url: hole.url, token: TOKEN, timeoutMs: TIMEOUT_MS });
    const raw = await timed(() => requester.request({ body: ['get', 'k'] }));
    expect(raw.error).toBeInstanceOf(RedisTimeoutError);
    expect((raw.error as Error).message).toBe(`Redis request timed out after ${TIMEOUT_MS} ms`);
    expect(raw.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 2);
    expect(raw.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);

    const redis = createRedisClient({ url: hole.url, token: TOKEN, timeoutMs: TIMEOUT_MS });
    const direct = await timed(() => redis.get('k'));
    expect(direct.error).toBeInstanceOf(RedisTimeoutError);
    expect(direct.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);

    const guarded = await timed(() => expectAuthError(guardStore(() => redis.get('k')), 'service_unavailable'));
    expect(guarded.error).toBeUndefined();
    expect(guarded.value).toBeInstanceOf(StoreUnavailableError);
    expect(guarded.value!.code).toBe('service_unavailable');
    expect(guarded.value!.retryAfterSeconds).toBe(1);
    expect(guarded.value!.cause).toBeInstanceOf(RedisTimeoutError);
    expect(guarded.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 2);
    expect(guarded.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);

    // A pipeline is one request under the same deadline.
    const pipeline = await timed(() => redis.pipeline().get('a').get('b').exec());
    expect(pipeline.error).toBeInstanceOf(RedisTimeoutError);
    expect(pipeline.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('headers sent, then the body stalls midway: rejects at the deadline, not retried', async () => {
    const server = await startFakeRest((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '64' });
      res.write('{"result":"dmFs'); // never finished
    });
    const redis = createRedisClient({ url: server.url, token: TOKEN, timeoutMs: TIMEOUT_MS });

    const { ms, error } = await timed(() => redis.get('k'));
    expect(error).toBeInstanceOf(RedisTimeoutError);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 2);
    expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);

    // The socket was destroyed at the deadline (a late body can never be read as another reply).
    await vi.waitFor(() => expect(server.closedConnections()).toBe(1), { timeout: 1_000, interval: 10 });
    expect(server.requests).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// 3-4. Retries: only a network error before any response, at most once
// ---------------------------------------------------------------------------

describe('retries', () => {
  it('a reply cut off midway (socket destroyed after part of the body) is NOT retried', async () => {
    const server = await startFakeRest((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
      res.write('{"result":"dmFsdWU', () => setTimeout(() => res.socket?.destroy(), 30));
    });
    const redis = createRedisClient({ url: server.url, token: TOKEN, timeoutMs: 2_000 });

    const { ms, error } = await timed(() => redis.set('k', 'v'));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(RedisTimeoutError); // failed on the cut, not at the deadline
    expect(ms).toBeLessThan(1_000);

    await sleep(150); // well past retryDelayMs (25 ms): a retry would have arrived by now
    expect(server.requests).toHaveLength(1);
    expect(server.connections).toHaveLength(1);
  });

  it('a reset after the request reached a fresh connection is not retried (the command may have run)', async () => {
    const server = await startFakeRest((req, res, index) => (index === 0 ? reset(req, res, index, '') : answer('second')(req, res, index, '')));
    const requester = createHttpRequester({ url: server.url, token: TOKEN, timeoutMs: 2_000, retryDelayMs: 50 });

    await expect(requester.request({ body: ['get', 'k'] })).rejects.toMatchObject({ code: 'ECONNRESET' });
    await sleep(150);
    expect(server.requests).toHaveLength(1);

    const redis = createRedisClient({ url: server.url, token: TOKEN, timeoutMs: 2_000 });
    await expect(redis.get('k')).resolves.toBe('second');
    const resetting = createRedisClient({ url: (await startFakeRest(reset)).url, token: TOKEN, timeoutMs: 2_000 });
    await expectAuthError(guardStore(() => resetting.get('k')), 'service_unavailable');
  });

  it('a refused connection (nothing sent) is retried once, after retryDelayMs', async () => {
    // A port that refuses now and listens a moment later: the retry reaches the server.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const requester = createHttpRequester({ url: `http://127.0.0.1:${port}`, token: TOKEN, timeoutMs: 2_000, retryDelayMs: 300 });

    const pending = requester.request({ body: ['get', 'k'] });
    await sleep(50);
    const late = http.createServer((_req, res) => res.end(JSON.stringify({ result: b64('late') })));
    await new Promise<void>((resolve) => late.listen(port, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => late.close(() => resolve())));
    await expect(pending).resolves.toEqual({ result: 'late', error: undefined });
  });

  it('a port that keeps refusing gives up after the retry, fast (guardStore: service_unavailable)', async () => {
    const redis = createRedisClient({ url: 'http://127.0.0.1:9', token: TOKEN, timeoutMs: 2_000 });
    const { ms, error } = await timed(() => redis.get('k'));
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(ms).toBeLessThan(1_000);
    await expectAuthError(guardStore(() => redis.get('k')), 'service_unavailable');
  });

  it('a stale pooled keep-alive socket is retried at once (no retryDelayMs) on a new connection', async () => {
    // 1st request answered (socket pooled); 2nd, on that reused socket, reset; 3rd answered.
    const server = await startFakeRest((req, res, index) => (index === 1 ? reset(req, res, index, '') : answer(`r${index}`)(req, res, index, '')));
    const requester = createHttpRequester({ url: server.url, token: TOKEN, timeoutMs: 3_000, retryDelayMs: 1_000 });

    await expect(requester.request({ body: ['get', 'k'] })).resolves.toEqual({ result: 'r0', error: undefined });
    const { ms, value } = await timed(() => requester.request({ body: ['get', 'k'] }));
    expect(value).toEqual({ result: 'r2', error: undefined });
    expect(ms).toBeLessThan(500); // not the 1 s retryDelayMs
    expect(server.requests[1]!.socket).toBe(server.requests[0]!.socket);
    expect(server.requests[2]!.socket).not.toBe(server.requests[1]!.socket);
    expect(server.connections).toHaveLength(2);
  });

  it('the retry stays inside the deadline: no retry when retryDelayMs would pass it', async () => {
    const server = await startFakeRest(reset);
    const requester = createHttpRequester({ url: server.url, token: TOKEN, timeoutMs: TIMEOUT_MS, retryDelayMs: TIMEOUT_MS * 2 });
    const { ms, error } = await timed(() => requester.request({ body: ['get', 'k'] }));
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(ms).toBeLessThan(TIMEOUT_MS);
    await sleep(50);
    expect(server.requests).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// 5-6. Non-2xx answers
// ---------------------------------------------------------------------------

describe('non-2xx answers', () => {
  it('a 502 with an HTML body: UpstashError without the body or the command arguments, not retried', async () => {
    const html = '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>upstream-internal-marker</p></body></html>';
    const server = await startFakeRest((_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(html) });
      res.end(html);
    });
    const redis = createRedisClient({ url: server.url, token: TOKEN, timeoutMs: 2_000 });
    const secret = `sk_live_${randomBytes(16).toString('hex')}`;
    const key = `session:${uid()}`;

    const error = await rejectionOf(redis.set(key, secret));
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect(error.message).toContain('502');
    for (const leak of ['<html', 'Bad Gateway', 'upstream-internal-marker', secret, key, 'command was']) expect(error.message).not.toContain(leak);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(secret);
    // The arguments did go out (so the test would see a leak if the message echoed them).
    expect(server.requests[0]!.body).toContain(secret);

    const guarded = await expectAuthError(guardStore(() => redis.set(key, secret)), 'service_unavailable');
    expect(String((guarded.cause as Error).message)).not.toContain(secret);
    await sleep(60);
    expect(server.requests).toHaveLength(2); // one per call: an answer is never retried
  });

  it('a non-2xx JSON {"error"}: the server message as it is, without the arguments', async () => {
    const server = await startFakeRest((_req, res) => sendJson(res, 503, { error: 'Redis unavailable: connect ECONNREFUSED' }));
    const redis = createRedisClient({ url: server.url, token: TOKEN, timeoutMs: 2_000 });
    const secret = `pw_${uid()}`;
    const error = await rejectionOf(redis.set('k', secret));
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect(error.message).toBe('Redis unavailable: connect ECONNREFUSED');
  });

  it('a Redis error from the real gateway (400): the Redis message, without the secret-looking argument', async () => {
    const { url, token } = sharedGateway();
    const redis = createRedisClient({ url, token, timeoutMs: 2_000 });
    const key = `rc-${uid()}:string`;
    await redis.set(key, 'plain');
    const secret = `sk_live_${randomBytes(16).toString('hex')}`;

    const error = await rejectionOf(redis.hset(key, { field: secret }));
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect(error.message).toMatch(/^WRONGTYPE /);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('command was');
    await redis.del(key);
  });
});

let ownStore: OwnStore | undefined;
async function ownGateway(): Promise<{ url: string; token: string; stats: ReturnType<typeof gatewayStatsClient> }> {
  ownStore ??= await startOwnStore();
  return { url: ownStore.env.UPSTASH_REDIS_REST_URL, token: ownStore.env.UPSTASH_REDIS_REST_TOKEN, stats: gatewayStatsClient(ownStore.env) };
}
afterAll(async () => {
  await ownStore?.stop();
  ownStore = undefined;
});

describe('NOSCRIPT fallback (a gateway of this file\'s own, after SCRIPT FLUSH)', () => {
  it('createScript(src).exec(): one EVALSHA answered NOSCRIPT, then one EVAL, with the right result; then EVALSHA alone', async () => {
    const { url, token, stats } = await ownGateway();
    const redis = createRedisClient({ url, token, timeoutMs: 2_000 });
    const key = `rc-${uid()}:script`;
    await expect(redis.scriptFlush()).resolves.toBe('OK');

    const script = redis.createScript(`return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}`);
    let result: unknown;
    const cold = await stats.around(async () => {
      result = await script.exec([key], ['ärg-1']);
    });
    expect(result).toEqual([key, 'ärg-1', 1]);
    expect(cold.commands).toEqual({ EVALSHA: 1, EVAL: 1 });
    expect(cold.requests).toEqual({ '/': 2 });
    expect(cold.errors).toBe(1); // the NOSCRIPT

    const warm = await stats.around(async () => {
      result = await script.exec([key], ['ärg-2']);
    });
    expect(result).toEqual([key, 'ärg-2', 2]);
    expect(warm.commands).toEqual({ EVALSHA: 1 });
    expect(warm.requests).toEqual({ '/': 1 });

    // What the fallback relies on: the 400's message surfaces as it is.
    await redis.scriptFlush();
    const error = await rejectionOf(redis.evalsha('0123456789abcdef0123456789abcdef01234567', [], []));
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect(error.message).toMatch(/^NOSCRIPT/);
    await redis.del(key);
  });
});

// ---------------------------------------------------------------------------
// 7. Decoding: identical to the SDK's own HttpClient
// ---------------------------------------------------------------------------

describe('reply decoding matches the SDK (shared gateway)', () => {
  const { url, token } = sharedGateway();
  const ours = createRedisClient({ url, token, timeoutMs: 5_000 });
  const sdk = new Redis({ url, token, automaticDeserialization: false, enableAutoPipelining: false });
  const p = `rc-${uid()}:`;
  const strings: Record<string, string> = {
    number: '123',
    exponent: '1e5',
    negativeZero: '-0',
    hex: '0x1F',
    bool: 'true',
    nul: 'null',
    ok: 'OK',
    base64Like: 'T0s=',
    json: '{"a":1,"b":[1,2]}',
    empty: '',
    spaces: '  42  ',
    nonAscii: 'héllo wörld — ünïcødé 日本語 🔑👩‍💻',
    large: 'ü€🔑'.repeat(40_000), // ~360 KB: the reply arrives in many chunks, multi-byte sequences split across them
  };

  beforeAll(async () => {
    for (const [name, value] of Object.entries(strings)) await ours.set(`${p}${name}`, value);
    await ours.hset(`${p}hash`, { num: '123', exp: '1e5', bool: 'true', text: 'ünï 🔑', nul: 'null' });
    await ours.zadd(`${p}zset`, { score: 1, member: 'one' }, { score: 2.5, member: '2' }, { score: -3, member: 'ñ' });
    await ours.rpush(`${p}list`, '123', 'true', 'null', 'OK', '日本');
    await ours.xadd(`${p}stream`, '1-1', { field: '123', other: 'ü' });
    await ours.xadd(`${p}stream`, '2-1', { field: 'null' });
  });
  afterAll(async () => {
    await ours.del(...Object.keys(strings).map((name) => `${p}${name}`), `${p}hash`, `${p}zset`, `${p}list`, `${p}stream`, `${p}incrA`, `${p}incrB`);
  });

  /** Runs the same read on both clients and returns our result after asserting they are equal. */
  async function same(read: (client: Redis) => Promise<unknown>): Promise<unknown> {
    const [mine, theirs] = await Promise.all([read(ours), read(sdk)]);
    expect(mine).toStrictEqual(theirs);
    return mine;
  }

  it('strings that look like numbers, booleans, null, OK or base64 stay the exact strings', async () => {
    for (const [name, value] of Object.entries(strings)) {
      const mine = await same((client) => client.get(`${p}${name}`));
      expect(typeof mine).toBe('string');
      expect(mine === value, `GET ${name}`).toBe(true);
    }
  });

  it('status replies, integers, nil', async () => {
    expect(await ours.set(`${p}incrA`, 'x')).toBe('OK');
    expect(await sdk.set(`${p}incrB`, 'x')).toBe('OK');
    await ours.del(`${p}incrA`, `${p}incrB`);
    expect(await ours.incr(`${p}incrA`)).toBe(1);
    expect(await sdk.incr(`${p}incrB`)).toBe(1);
    expect(await same((c) => c.ping())).toBe('PONG');
    expect(await same((c) => c.get(`${p}missing`))).toBeNull();
    expect(await same((c) => c.exists(`${p}number`, `${p}missing`))).toBe(1);
    expect(await same((c) => c.ttl(`${p}number`))).toBe(-1);
    expect(await same((c) => c.strlen(`${p}nonAscii`))).toBe(Buffer.byteLength(strings.nonAscii!));
    expect(await same((c) => c.type(`${p}hash`))).toBe('hash');
    expect(await same((c) => c.echo('ñ 🔑 123'))).toBe('ñ 🔑 123');
  });

  it('arrays: MGET, HMGET with nil, HGETALL flat, ZRANGE WITHSCORES, LRANGE', async () => {
    expect(await same((c) => c.mget(`${p}number`, `${p}missing`, `${p}bool`, `${p}nonAscii`))).toEqual(['123', null, 'true', strings.nonAscii]);
    expect(await same((c) => c.hmget(`${p}hash`, 'num', 'absent', 'text'))).toEqual(['123', null, 'ünï 🔑']);
    expect(await same((c) => c.hgetall(`${p}hash`))).toEqual(['num', '123', 'exp', '1e5', 'bool', 'true', 'text', 'ünï 🔑', 'nul', 'null']);
    expect(await same((c) => c.zrange(`${p}zset`, 0, -1, { withScores: true }))).toEqual(['ñ', '-3', 'one', '1', '2', '2.5']);
    expect(await same((c) => c.lrange(`${p}list`, 0, -1))).toEqual(['123', 'true', 'null', 'OK', '日本']);
  });

  it('nested arrays: XRANGE and a Lua table with integers, strings, nil and deeper tables', async () => {
    expect(await same((c) => c.xrange(`${p}stream`, '-', '+'))).toEqual([
      ['1-1', ['field', '123', 'other', 'ü']],
      ['2-1', ['field', 'null']],
    ]);
    const lua = `return {1, '123', {2, 'true', {'ñ', 3, 'OK'}}, redis.status_reply('OK'), 'null'}`;
    expect(await same((c) => c.eval(lua, [], []))).toEqual([1, '123', [2, 'true', ['ñ', 3, 'OK']], 'OK', 'null']);
    expect(await same((c) => c.eval(`return 42`, [], []))).toBe(42);
    expect(await same((c) => c.eval(`return nil`, [], []))).toBeNull();
    expect(await same((c) => c.eval(`return {}`, [], []))).toEqual([]);
  });

  it('pipelines decode the same, entry by entry', async () => {
    const build = (c: Redis) =>
      c.pipeline().get(`${p}number`).get(`${p}missing`).hgetall(`${p}hash`).zrange(`${p}zset`, 0, -1, { withScores: true }).xrange(`${p}stream`, '-', '+').exists(`${p}ok`).get(`${p}nonAscii`);
    const mine = await same((c) => build(c).exec());
    expect((mine as unknown[])[0]).toBe('123');
    expect((mine as unknown[])[1]).toBeNull();
    expect((mine as unknown[])[5]).toBe(1);
  });
});

describe('reply decoding matches the SDK on raw replies the gateway never sends (a local server)', () => {
  /** Reply bodies by case name; the case is the GET's key, so both clients get the same bytes. */
  const cases: Record<string, unknown> = {
    rawOk: { result: 'OK' }, // Upstash sends status OK unencoded
    encodedOk: { result: b64('OK') },
    numberLike: { result: b64('123') },
    invalidBase64: { result: 'not base64!' }, // returned as it came
    invalidUtf8: { result: Buffer.from([0xff, 0xfe, 0x41]).toString('base64') },
    nonAscii: { result: b64('é 🔑 日本') },
    integer: { result: 42 },
    zero: { result: 0 },
    nil: { result: null },
    object: { result: { a: 1 } }, // not an array: null
    boolean: { result: true }, // neither: undefined, which the SDK's Command refuses
    missing: {},
    nested: { result: ['OK', b64('123'), null, 7, [b64('OK'), 'OK', [b64('true'), null, 5, 'not base64!']], { x: 1 }] },
    errorField: { error: 'ERR something' },
  };
  const pipelineBody = [{ result: 'OK' }, { error: 'ERR wrong' }, { result: [b64('1e5'), 'OK', null] }, { result: 3 }];

  /** A settled outcome that compares equal across clients: the value, or the error's class and message. */
  async function outcome(operation: Promise<unknown>): Promise<unknown> {
    try {
      return { value: await operation };
    } catch (error) {
      return { error: (error as Error).constructor.name, message: (error as Error).message };
    }
  }

  it('every decode rule gives the same value (or the same error) as the SDK', async () => {
    const server = await startFakeRest((req, res, _index, body) => {
      if (req.url === '/pipeline') return sendJson(res, 200, pipelineBody);
      const [, key] = JSON.parse(body) as [string, string];
      sendJson(res, 200, cases[key]);
    });
    const ours = createRedisClient({ url: server.url, token: TOKEN, timeoutMs: 2_000 });
    const sdk = new Redis({ url: server.url, token: TOKEN, automaticDeserialization: false, enableAutoPipelining: false, retry: false });

    const results: Record<string, unknown> = {};
    for (const name of Object.keys(cases)) {
      const [mine, theirs] = [await outcome(ours.get(name)), await outcome(sdk.get(name))];
      expect(mine, name).toStrictEqual(theirs);
      results[name] = mine;
    }
    // Pinned, so that both clients being wrong the same way would still be seen.
    expect(results.rawOk).toEqual({ value: 'OK' });
    expect(results.encodedOk).toEqual({ value: 'OK' });
    expect(results.numberLike).toEqual({ value: '123' });
    expect(results.invalidBase64).toEqual({ value: 'not base64!' });
    expect(results.invalidUtf8).toEqual({ value: '\uFFFD\uFFFDA' });
    expect(results.nonAscii).toEqual({ value: 'é 🔑 日本' });
    expect(results.integer).toEqual({ value: 42 });
    expect(results.zero).toEqual({ value: 0 });
    expect(results.nil).toEqual({ value: null });
    expect(results.object).toEqual({ value: null });
    expect(results.boolean).toMatchObject({ error: 'TypeError' });
    expect(results.missing).toMatchObject({ error: 'TypeError' });
    // Top-level array elements are base64-decoded even when they read "OK" ("OK" decodes to "8");
    // deeper ones go through the full rule (so a raw "OK" stays "OK").
    expect(results.nested).toEqual({ value: ['8', '123', null, 7, ['OK', 'OK', ['true', null, 5, 'not base64!']], { x: 1 }] });
    expect(results.errorField).toEqual({ error: 'UpstashError', message: 'ERR something' });

    const pipelined = async (client: Redis) => outcome(client.pipeline().get('a').get('b').get('c').get('d').exec({ keepErrors: true }));
    const [mine, theirs] = [await pipelined(ours), await pipelined(sdk)];
    expect(mine).toStrictEqual(theirs);
    expect(mine).toEqual({
      value: [
        { result: 'OK', error: undefined },
        { result: undefined, error: 'ERR wrong' },
        { result: ['1e5', '8', null], error: undefined },
        { result: 3, error: undefined },
      ],
    });
  });
});

// ---------------------------------------------------------------------------
// 8. Pipelines and MULTI/EXEC
// ---------------------------------------------------------------------------

describe('pipeline and multi (shared gateway)', () => {
  const { url, token } = sharedGateway();
  const redis = createRedisClient({ url, token, timeoutMs: 5_000 });

  it('pipeline(): every result in order', async () => {
    const k = `rc-${uid()}:`;
    const results = await redis.pipeline().set(`${k}a`, '123').get(`${k}a`).incr(`${k}n`).hset(`${k}h`, { f: 'ü' }).hgetall(`${k}h`).get(`${k}none`).exec();
    expect(results).toEqual(['OK', '123', 1, 1, ['f', 'ü'], null]);
    await redis.del(`${k}a`, `${k}n`, `${k}h`);
  });

  it('multi(): every result in order, in one transaction', async () => {
    const k = `rc-${uid()}:`;
    const results = await redis.multi().set(`${k}a`, 'true').incrby(`${k}n`, 5).get(`${k}a`).get(`${k}n`).exec();
    expect(results).toEqual(['OK', 5, 'true', '5']);
    await redis.del(`${k}a`, `${k}n`);
  });

  it('a per-command error stays with its command: exec() names it; exec({ keepErrors: true }) keeps the others', async () => {
    const k = `rc-${uid()}:`;
    // Without keepErrors the SDK turns the first error into a rejection of the whole exec...
    const error = await rejectionOf(redis.pipeline().set(`${k}s`, 'abc').incr(`${k}s`).set(`${k}after`, 'ran').exec());
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect(error.message).toMatch(/^Command 2 \[ incr \] failed: ERR value is not an integer/);
    // ...but the pipeline is not atomic: the command after the failing one still ran.
    expect(await redis.get(`${k}after`)).toBe('ran');

    const kept = await redis.pipeline().set(`${k}s`, 'xyz').incr(`${k}s`).get(`${k}s`).exec({ keepErrors: true });
    expect(kept).toHaveLength(3);
    expect(kept[0]).toMatchObject({ result: 'OK' });
    expect(kept[0]!.error).toBeUndefined();
    expect(kept[1]!.result).toBeUndefined();
    expect(kept[1]!.error).toMatch(/^ERR value is not an integer/);
    expect(kept[2]).toMatchObject({ result: 'xyz' });
    expect(kept[2]!.error).toBeUndefined();

    // MULTI/EXEC: a runtime error is per command too (Redis runs the rest of the transaction).
    const multi = await redis.multi().set(`${k}m`, 'abc').incr(`${k}m`).set(`${k}m2`, '1').exec({ keepErrors: true });
    expect(multi.map((entry) => entry.result)).toEqual(['OK', undefined, 'OK']);
    expect(multi[1]!.error).toMatch(/^ERR value is not an integer/);

    await redis.del(`${k}s`, `${k}after`, `${k}m`, `${k}m2`);
  });

  it('multi(): a command Redis refuses to queue aborts the whole transaction (EXECABORT), nothing applied', async () => {
    const k = `rc-${uid()}:`;
    // A wrong-arity command fails at queue time. The SDK has no typed way to send one, so use the raw pipeline body.
    const requester = createHttpRequester({ url, token, timeoutMs: 5_000 });
    const error = await rejectionOf(requester.request({ path: ['multi-exec'], body: [['set', `${k}x`, '1'], ['get']] }));
    expect(error).toBeInstanceOf(errors.UpstashError);
    expect(error.message).toMatch(/^EXECABORT/);
    expect(await redis.exists(`${k}x`)).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// 9. URL with a path prefix, over http and https
// ---------------------------------------------------------------------------

/** A fake REST endpoint under `/prefix`, with canned answers per path; anything else is a 404. */
const prefixed: Handler = (req, res, _index, body) => {
  const commands = JSON.parse(body) as unknown[][];
  if (req.url === '/prefix/') return sendJson(res, 200, { result: b64(`one:${String(commands[0])}`) });
  if (req.url === '/prefix/pipeline' || req.url === '/prefix/multi-exec') {
    return sendJson(
      res,
      200,
      commands.map((command) => ({ result: b64(`${req.url}:${String(command[0])}`) })),
    );
  }
  sendJson(res, 404, { error: `no such path ${req.url}` });
};

function expectPrefixedTraffic(server: FakeRest): void {
  expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /prefix/', 'POST /prefix/pipeline', 'POST /prefix/multi-exec']);
  for (const request of server.requests) {
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['upstash-encoding']).toBe('base64');
    expect(request.headers['content-type']).toBe('application/json');
  }
  expect(JSON.parse(server.requests[0]!.body)).toEqual(['get', 'k']);
  expect(JSON.parse(server.requests[1]!.body)).toEqual([['get', 'a'], ['get', 'b']]);
}

async function exercisePrefix(redis: Redis): Promise<void> {
  await expect(redis.get('k')).resolves.toBe('one:get');
  await expect(redis.pipeline().get('a').get('b').exec()).resolves.toEqual(['/prefix/pipeline:get', '/prefix/pipeline:get']);
  await expect(redis.multi().set('a', '1').get('a').exec()).resolves.toEqual(['/prefix/multi-exec:set', '/prefix/multi-exec:get']);
}

/** A throw-away self-signed certificate for 127.0.0.1, or undefined when the openssl CLI is missing. */
function selfSignedCert(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'rc-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const tlsMaterial = selfSignedCert();

describe('URL with a path prefix', () => {
  it.each(['/prefix', '/prefix/'])('http://127.0.0.1:PORT%s: POST <prefix>/, <prefix>/pipeline, <prefix>/multi-exec', async (suffix) => {
    const server = await startFakeRest(prefixed);
    await exercisePrefix(createRedisClient({ url: `${server.url}${suffix}`, token: TOKEN, timeoutMs: 2_000 }));
    expectPrefixedTraffic(server);
  });

  it.skipIf(!tlsMaterial)('https://127.0.0.1:PORT/prefix with a self-signed certificate: refused by default, works once the CA is trusted', async () => {
    const server = await startFakeRest(prefixed, tlsMaterial);
    const url = `${server.url}/prefix`;

    // Certificate verification is on: the self-signed certificate is refused (no HTTP request reaches the server).
    const refused = await rejectionOf(createRedisClient({ url, token: TOKEN, timeoutMs: 2_000 }).get('k'));
    expect((refused as NodeJS.ErrnoException).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(server.requests).toHaveLength(0);

    // createHttpRequester takes no `ca`/agent option and NODE_EXTRA_CA_CERTS is read only at start-up, so
    // trust the test CA the only way left in-process: every https.Agent connection gets it as `ca`
    // (verification stays on, against this CA alone).
    const original = https.Agent.prototype.createConnection;
    const ca = tlsMaterial!.cert;
    vi.spyOn(https.Agent.prototype, 'createConnection').mockImplementation(function (this: https.Agent, options, callback) {
      return original.call(this, { ...options, ca }, callback);
    });
    await exercisePrefix(createRedisClient({ url, token: TOKEN, timeoutMs: 2_000 }));
    expectPrefixedTraffic(server);
    for (const request of server.requests) expect((request.socket as unknown as { encrypted?: boolean }).encrypted).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// 10. Same-tick pipelining
// ---------------------------------------------------------------------------

describe('withSameTickPipeline (a gateway of this file\'s own, counted)', () => {
  it('commands issued in the same tick go out as ONE /pipeline request; each caller gets its own result or error', async () => {
    const { url, token, stats } = await ownGateway();
    const base = createRedisClient({ url, token, timeoutMs: 2_000 });
    const batched = withSameTickPipeline(base);
    expect(batched).not.toBe(base);
    const k = `rc-${uid()}:`;
    await base.set(`${k}str`, 'abc');

    let outcomes: PromiseSettledResult<unknown>[] = [];
    const counted = await stats.around(async () => {
      outcomes = await Promise.allSettled([batched.set(`${k}a`, '123'), batched.incr(`${k}str`), batched.get(`${k}str`), batched.hgetall(`${k}none`), batched.incr(`${k}n`)]);
    });
    expect(counted.requests).toEqual({ '/pipeline': 1 });
    expect(counted.commands).toEqual({ SET: 1, INCR: 2, GET: 1, HGETALL: 1 });
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(outcomes[1]!.status).toBe('rejected');
    const incrError = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(incrError).toBeInstanceOf(errors.UpstashError);
    expect(incrError.message).toMatch(/^ERR value is not an integer/);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 'abc' });
    expect(outcomes[3]).toEqual({ status: 'fulfilled', value: [] });
    expect(outcomes[4]).toEqual({ status: 'fulfilled', value: 1 });

    // Different ticks: each command alone, as a plain single-command request.
    const separate = await stats.around(async () => {
      const first = batched.get(`${k}a`);
      await new Promise((resolve) => setImmediate(resolve));
      const second = batched.get(`${k}str`);
      expect(await Promise.all([first, second])).toEqual(['123', 'abc']);
      expect(await batched.get(`${k}a`)).toBe('123');
    });
    expect(separate.requests).toEqual({ '/': 3 });

    // The base client is untouched: one call = one request even in the same tick.
    const unbatched = await stats.around(() => Promise.all([base.get(`${k}a`), base.get(`${k}str`)]));
    expect(unbatched.requests).toEqual({ '/': 2 });

    // Pipelines and transactions pass through as they are.
    const passthrough = await stats.around(() => Promise.all([batched.pipeline().get(`${k}a`).exec(), batched.multi().get(`${k}a`).exec()]));
    expect(passthrough.requests).toEqual({ '/pipeline': 1, '/multi-exec': 1 });

    await base.del(`${k}a`, `${k}str`, `${k}n`);
  });

  it('a failure of the shared request itself rejects every caller in it (counted at the server: one request)', async () => {
    const server = await startFakeRest((_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    const batched = withSameTickPipeline(createRedisClient({ url: server.url, token: TOKEN, timeoutMs: 2_000 }));
    const outcomes = await Promise.allSettled([batched.get('a'), batched.get('b')]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(server.requests.map((r) => r.url)).toEqual(['/pipeline']);
    expect(JSON.parse(server.requests[0]!.body)).toEqual([['get', 'a'], ['get', 'b']]);
  });
});

// ---------------------------------------------------------------------------
// 11. The idle pool is replaced after keepAliveMs
// ---------------------------------------------------------------------------

describe('keep-alive pool', () => {
  const KEEP_ALIVE_MS = 200;

  it('reuses one connection while busy; after idling longer than keepAliveMs a new TCP connection is opened', async () => {
    const server = await startFakeRest(answer('v'));
    const requester = createHttpRequester({ url: server.url, token: TOKEN, timeoutMs: 2_000, keepAliveMs: KEEP_ALIVE_MS });

    await requester.request({ body: ['get', 'k'] });
    await requester.request({ body: ['get', 'k'] });
    await sleep(KEEP_ALIVE_MS / 4);
    await requester.request({ body: ['get', 'k'] });
    expect(server.connections).toHaveLength(1);

    await sleep(KEEP_ALIVE_MS + 100);
    await requester.request({ body: ['get', 'k'] });
    expect(server.connections).toHaveLength(2);
    expect(server.requests[3]!.socket).toBe(server.connections[1]);
  });

  it('keepAliveMs bounds idle time only: a request slower than keepAliveMs (inside its deadline) completes on its socket', async () => {
    const server = await startFakeRest((req, res, index) => setTimeout(() => answer(`slow${index}`)(req, res, index, ''), KEEP_ALIVE_MS + 100));
    const requester = createHttpRequester({ url: server.url, token: TOKEN, timeoutMs: 2_000, keepAliveMs: KEEP_ALIVE_MS });
    await expect(requester.request({ body: ['get', 'k'] })).resolves.toEqual({ result: 'slow0', error: undefined });
    expect(server.requests).toHaveLength(1);
    expect(server.closedConnections()).toBe(0);
  });

  it('a pool idle past keepAliveMs by the clock is replaced even if no idle timer ran (a thawed Lambda)', async () => {
    const server = await startFakeRest(answer('v'));
    const requester = createHttpRequester({ url: server.url, token: TOKEN, timeoutMs: 2_000, keepAliveMs: KEEP_ALIVE_MS });
    await requester.request({ body: ['get', 'k'] });
    expect(server.connections).toHaveLength(1);

    // Wall-clock time jumps (as across a freeze) while no timer has fired: the old socket is still open.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + KEEP_ALIVE_MS * 5);
    expect(server.closedConnections()).toBe(0);

    await requester.request({ body: ['get', 'k'] });
    expect(server.connections).toHaveLength(2);
    expect(server.requests[1]!.socket).toBe(server.connections[1]);
    // The old pool was destroyed with its socket.
    await vi.waitFor(() => expect(server.closedConnections()).toBe(1), { timeout: 1_000, interval: 10 });

    // The new pool is then reused as usual.
    await requester.request({ body: ['get', 'k'] });
    expect(server.connections).toHaveLength(2);
  });
});
