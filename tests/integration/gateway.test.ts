/**
 * Proves the dev gateway speaks the Upstash REST protocol well enough for the
 * real @upstash/redis and @upstash/ratelimit clients, against a real redis-server.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, stripUnsupportedShebangFlags, type Gateway } from '../../dev/gateway';
import { startRedisServer, type RedisServerHandle } from '../../dev/redis-server';

const TOKEN = `test-token-${randomUUID()}`;
// Random per run so repeated or parallel runs never see each other's keys.
const PREFIX = `gw-test:${randomUUID()}:`;

/** The exact script shape @upstash/ratelimit sends, which stock Redis 7.0 refuses. */
const SHEBANG_SCRIPT = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";

let redisServer: RedisServerHandle;
let gateway: Gateway;
/** Plain strings in, plain strings out, no retries: shows exactly what the wire carries. */
let raw: Redis;
/** Default config: JSON (de)serialization, auto-pipelining, base64 responses, telemetry headers. */
let client: Redis;

function key(name: string): string {
  return `${PREFIX}${name}`;
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

beforeAll(async () => {
  redisServer = await startRedisServer();
  gateway = await startGateway({ redisPort: redisServer.port, token: TOKEN, port: 0 });
  raw = new Redis({
    url: gateway.url,
    token: TOKEN,
    automaticDeserialization: false,
    enableAutoPipelining: false,
    retry: false,
  });
  client = new Redis({ url: gateway.url, token: TOKEN });
});

afterAll(async () => {
  await gateway?.close();
  await redisServer?.stop();
});

describe('@upstash/redis through the gateway', () => {
  it('round-trips strings, including non-ASCII and control characters', async () => {
    const values = ['plain', 'héllo wörld ✓ 日本語 🚀', '\u0000\u0001\u007f\u00ff\r\n\t"\\', ''];
    for (const [index, value] of values.entries()) {
      expect(await raw.set(key(`str:${index}`), value)).toBe('OK');
      expect(await raw.get(key(`str:${index}`))).toBe(value);
    }
  });

  it('decodes status replies, integers and nil', async () => {
    expect(await raw.set(key('status'), 'v', { ex: 30 })).toBe('OK');
    expect(await raw.ping()).toBe('PONG');
    expect(await raw.incr(key('counter'))).toBe(1);
    expect(await raw.incrby(key('counter'), 41)).toBe(42);
    expect(await raw.ttl(key('status'))).toBeGreaterThan(0);
    expect(await raw.get(key('missing'))).toBeNull();
    // NX on an existing key answers nil rather than OK.
    expect(await raw.set(key('status'), 'other', { nx: true })).toBeNull();
  });

  it('decodes nested arrays (ZRANGE WITHSCORES, HGETALL, EVAL tables)', async () => {
    await raw.zadd(key('zset'), { score: 1, member: 'a' }, { score: 2.5, member: 'b' });
    expect(await raw.zrange(key('zset'), 0, -1, { withScores: true })).toEqual(['a', '1', 'b', '2.5']);

    await raw.hset(key('hash'), { f1: 'v1', f2: 'ü' });
    // automaticDeserialization: false also skips HGETALL's array-to-object step.
    expect(await raw.hgetall(key('hash'))).toEqual(['f1', 'v1', 'f2', 'ü']);
    // The default client builds an object and JSON-parses values (numeric strings become numbers)...
    await client.hset(key('hash2'), { n: 7, s: 'x' });
    expect(await client.hgetall(key('hash2'))).toEqual({ n: 7, s: 'x' });
    // ...and reports a missing hash as null, not {}.
    expect(await client.hgetall(key('hash:none'))).toBeNull();

    const nested = await raw.eval("return {1, 'two', {3, 'four', {'five'}}, redis.status_reply('OK')}", [], []);
    expect(nested).toEqual([1, 'two', [3, 'four', ['five']], 'OK']);
  });

  it('serializes objects transparently with the default client', async () => {
    const session = { userId: 'u1', roles: ['admin'], n: 3 };
    expect(await client.set(key('json'), session, { ex: 30 })).toBe('OK');
    expect(await client.get(key('json'))).toEqual(session);
  });

  it('runs pipelines and keeps per-command errors', async () => {
    const results = await raw
      .pipeline()
      .set(key('p:a'), '1')
      .incr(key('p:a'))
      .get(key('p:a'))
      .get(key('p:missing'))
      .exec();
    expect(results).toEqual(['OK', 2, '2', null]);

    await raw.set(key('p:text'), 'abc');
    const withError = await raw.pipeline().incr(key('p:text')).get(key('p:text')).exec({ keepErrors: true });
    expect(withError[0]?.error).toMatch(/not an integer/);
    expect(withError[1]).toEqual({ error: undefined, result: 'abc' });
  });

  it('runs MULTI/EXEC transactions atomically under concurrency', async () => {
    expect(await raw.multi().set(key('m:a'), 'x').append(key('m:a'), 'y').get(key('m:a')).exec()).toEqual([
      'OK',
      2,
      'xy',
    ]);

    // If another request's INCR could land between ours and the GET, the GET
    // would observe a larger value than our own INCR returned.
    const counter = key('m:counter');
    const runs = await Promise.all(
      Array.from({ length: 40 }, () => raw.multi().incr(counter).get(counter).exec<[number, string]>()),
    );
    for (const [incremented, read] of runs) expect(read).toBe(String(incremented));
    expect(new Set(runs.map(([n]) => n)).size).toBe(40);
  });

  it('surfaces Redis errors as thrown UpstashErrors', async () => {
    await raw.set(key('err:text'), 'not a number');
    await expect(raw.incr(key('err:text'))).rejects.toThrow(/ERR value is not an integer/);
    await expect(raw.multi().set(key('err:m'), '1').incr(key('err:text')).exec()).rejects.toThrow(/not an integer/);
  });

  it('rejects a wrong token with 401', async () => {
    const intruder = new Redis({ url: gateway.url, token: 'wrong', retry: false, enableAutoPipelining: false });
    await expect(intruder.get(key('anything'))).rejects.toThrow(/Unauthorized/);
    const res = await fetch(gateway.url, { method: 'POST', body: '["PING"]' });
    expect(res.status).toBe(401);
  });
});

describe('Lua scripts', () => {
  it('runs createScript().exec via EVALSHA with fallback to EVAL', async () => {
    const script = raw.createScript<string>(`return ARGV[1] .. '-${randomUUID()}'`);
    gateway.resetStats();
    const first = await script.exec([], ['hello']); // NOSCRIPT -> EVAL
    const second = await script.exec([], ['again']); // cached -> EVALSHA only
    expect(first).toMatch(/^hello-/);
    expect(second).toMatch(/^again-/);
    const { commands, scripts } = gateway.stats();
    expect(commands).toMatchObject({ EVALSHA: 2, EVAL: 1 });
    expect(scripts).toBe(3);
  });

  it('accepts the #!lua flags=allow-key-locking shebang via EVAL, SCRIPT LOAD and EVALSHA', async () => {
    const k = key('lua:counter');
    expect(await raw.eval(SHEBANG_SCRIPT, [k], ['2'])).toBe(2);

    // SCRIPT LOAD must report the digest of the text the client sent, not of our rewrite.
    const sha = await raw.scriptLoad(SHEBANG_SCRIPT);
    expect(sha).toBe(sha1(SHEBANG_SCRIPT));
    expect(await raw.evalsha(sha, [k], ['3'])).toBe(5);
    expect(await raw.scriptExists(sha, 'f'.repeat(40))).toEqual([1, 0]);
    expect(await raw.createScript<number>(SHEBANG_SCRIPT).exec([k], ['1'])).toBe(6);

    // Shas the gateway has never seen pass through so clients get NOSCRIPT and fall back.
    await expect(raw.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it('keeps shebang flags Redis understands while dropping Upstash-only ones', async () => {
    expect(stripUnsupportedShebangFlags('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
    expect(stripUnsupportedShebangFlags('#!lua flags=allow-key-locking\nreturn 1')).toBe('\nreturn 1');
    expect(stripUnsupportedShebangFlags('#!lua flags=no-writes\nreturn 1')).toBe('#!lua flags=no-writes\nreturn 1');
    expect(stripUnsupportedShebangFlags('return 1')).toBe('return 1');

    await raw.set(key('lua:ro'), 'read-only');
    const readOnly = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    expect(await raw.evalRo(readOnly, [key('lua:ro')], [])).toBe('read-only');
  });
});

describe('@upstash/ratelimit through the gateway', () => {
  const limiters = {
    slidingWindow: Ratelimit.slidingWindow(3, '10 s'),
    fixedWindow: Ratelimit.fixedWindow(3, '10 s'),
  };

  for (const [name, limiter] of Object.entries(limiters)) {
    it(`${name}: allows 3 requests, then denies the 4th`, async () => {
      // The default client exercises auto-pipelining, base64 and telemetry headers as production does.
      const ratelimit = new Ratelimit({ redis: client, limiter, prefix: key(`rl:${name}`), analytics: false });
      const identifier = `user-${randomUUID()}`;
      const outcomes = [];
      for (let i = 0; i < 4; i++) {
        const response = await ratelimit.limit(identifier);
        await response.pending;
        // A "timeout" reason means the SDK gave up waiting and failed open: the gateway was not really used.
        expect(response.reason).not.toBe('timeout');
        outcomes.push(response.success);
      }
      expect(outcomes).toEqual([true, true, true, false]);
      expect((await ratelimit.getRemaining(identifier)).remaining).toBe(0);
    });
  }
});

describe('gateway protocol details', () => {
  it('base64-encodes every string, but not integers or nil, when asked to', async () => {
    const k = key('wire');
    const encoded = async (command: unknown[]): Promise<unknown> =>
      (await (await post('/', JSON.stringify(command), { 'upstash-encoding': 'base64' })).json()) as unknown;

    expect(await encoded(['SET', k, 'wörld'])).toEqual({ result: Buffer.from('OK').toString('base64') });
    expect(await encoded(['GET', k])).toEqual({ result: Buffer.from('wörld').toString('base64') });
    expect(await encoded(['STRLEN', k])).toEqual({ result: 6 });
    expect(await encoded(['GET', key('wire:none')])).toEqual({ result: null });

    const plain = await post('/', JSON.stringify(['GET', k]));
    expect(await plain.json()).toEqual({ result: 'wörld' });
    // Numbers and booleans in the body are accepted as arguments, like Upstash does.
    expect(await (await post('/', JSON.stringify(['SET', k, 12, 'EX', 30]))).json()).toEqual({ result: 'OK' });
    expect(await (await post('/', JSON.stringify(['GET', k]))).json()).toEqual({ result: '12' });
  });

  it('answers bad requests with JSON errors and keeps serving', async () => {
    const malformed = await post('/', '["GET", ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toHaveProperty('error');

    for (const body of ['{}', '[]', '[1, {"a": 1}]', '[["GET"]]', 'null']) {
      expect((await post('/', body)).status).toBe(400);
    }
    expect((await post('/pipeline', '[]')).status).toBe(400);
    expect((await post('/', '["SUBSCRIBE", "chan"]')).status).toBe(400);

    const notFound = await post('/nope', '["PING"]');
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toHaveProperty('error');

    const tooLarge = await post('/', JSON.stringify(['SET', key('big'), 'x'.repeat(10 * 1024 * 1024 + 1)]));
    expect(tooLarge.status).toBe(413);

    expect(await raw.ping()).toBe('PONG');
  });

  it('counts requests and commands on the stats endpoint', async () => {
    const reset = await post('/__stats/reset', '');
    expect(reset.status).toBe(200);

    await raw.set(key('stats'), '1');
    await raw.get(key('stats'));
    await raw.pipeline().incr(key('stats')).get(key('stats')).exec();
    await raw.multi().incr(key('stats')).exec();

    const res = await fetch(`${gateway.url}/__stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as ReturnType<Gateway['stats']>;
    expect(stats.requests).toEqual({ '/': 2, '/pipeline': 1, '/multi-exec': 1 });
    expect(stats.commands).toEqual({ SET: 1, GET: 2, INCR: 2 });
    expect(stats.total).toBe(5);
    expect(stats.writes).toBe(3);
    expect(gateway.stats()).toEqual(stats);

    expect((await fetch(`${gateway.url}/__stats`)).status).toBe(401);
  });

  it('fails fast with 503 while Redis is down and recovers when it returns', async () => {
    // A private Redis + gateway pair, so the shared fixtures are not disturbed.
    const ownRedis = await startRedisServer();
    const ownGateway = await startGateway({ redisPort: ownRedis.port, token: TOKEN });
    const own = new Redis({ url: ownGateway.url, token: TOKEN, retry: false, enableAutoPipelining: false });
    try {
      expect(await own.set(key('fault'), 'v')).toBe('OK');
      await ownRedis.stop();

      const started = Date.now();
      const down = await fetch(ownGateway.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '["PING"]',
      });
      expect(down.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1_500);

      const restarted = await startRedisServer({ port: ownRedis.port });
      try {
        // ioredis reconnects on a short fixed delay; poll instead of sleeping a fixed time.
        const deadline = Date.now() + 3_000;
        let pong: string | undefined;
        while (!pong && Date.now() < deadline) {
          pong = await own.ping().catch(() => undefined);
          if (!pong) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(pong).toBe('PONG');
      } finally {
        await restarted.stop();
      }
    } finally {
      await ownGateway.close();
      await ownRedis.stop();
    }
  });
});
