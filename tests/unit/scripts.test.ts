/**
 * Static checks of every Lua script in lib/store/scripts (SPEC "Storage and scale"): each
 * starts with Upstash's `#!lua flags=allow-key-locking`, names its ARGV entries in its first
 * lines, and reaches Redis keys only through `KEYS` (no key is built or read from data).
 * A Redis Cluster rejects a key on another node but not an undeclared key in the same slot,
 * and Upstash's key locking needs every key declared: hence a static check, not a run.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DECLARED_FIELDS } from '../../lib/store/schema';

const SCRIPTS_DIR = path.join(__dirname, '../../lib/store/scripts');

/** Redis commands whose first argument is a key (every command the scripts may use). */
const KEY_COMMANDS = new Set([
  'DEL', 'EXISTS', 'EXPIRE', 'PEXPIRE', 'PEXPIREAT', 'PEXPIRETIME', 'PTTL', 'PERSIST', 'GET', 'SET',
  'HGET', 'HMGET', 'HSET', 'HDEL', 'HGETALL', 'HINCRBY', 'HEXISTS', 'HLEN',
  'ZADD', 'ZREM', 'ZRANGE', 'ZRANGEBYSCORE', 'ZREMRANGEBYSCORE', 'ZCARD', 'ZSCORE',
  'SADD', 'SREM', 'SISMEMBER', 'XADD', 'XTRIM', 'XRANGE', 'INCR', 'INCRBY',
  'LPUSH', 'LTRIM', 'LRANGE',
]);
/** Commands that touch no key. */
const KEYLESS_COMMANDS = new Set(['TIME']);
/** Hash commands whose arguments after the key include field names (checked against the schema). */
const FIELD_COMMANDS = new Set(['HGET', 'HMGET', 'HSET', 'HDEL', 'HEXISTS', 'HINCRBY']);

interface RedisCall {
  command: string;
  args: string[];
}

/** Splits a Lua argument list at top-level commas. */
function splitArgs(list: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const ch of list) {
    if (quote) {
      current += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) args.push(current.trim());
  return args;
}

/** Every `redis.call(...)` / `redis.pcall(...)` with its arguments. */
function redisCalls(source: string): RedisCall[] {
  const calls: RedisCall[] = [];
  const opener = /redis\.p?call\(/g;
  for (let match = opener.exec(source); match; match = opener.exec(source)) {
    let depth = 1;
    let end = match.index + match[0].length;
    while (depth > 0 && end < source.length) {
      if (source[end] === '(') depth++;
      else if (source[end] === ')') depth--;
      end++;
    }
    const [command, ...args] = splitArgs(source.slice(match.index + match[0].length, end - 1));
    calls.push({ command: (command ?? '').replace(/^'|'$/g, '').toUpperCase(), args });
  }
  return calls;
}

/**
 * Names that hold keys taken from KEYS: `local a, b = KEYS[1], KEYS[2]`, tables filled with
 * `t[x] = KEYS[n]`, and table fields `{..., key = KEYS[n]}` (read as `t[i].key`).
 */
function keyAliases(source: string): { names: Set<string>; tables: Set<string>; fields: Set<string> } {
  const names = new Set<string>();
  for (const match of source.matchAll(/local\s+([\w\s,]+?)\s*=\s*([^\n]+)/g)) {
    const targets = match[1]!.split(',').map((name) => name.trim());
    const values = splitArgs(match[2]!.replace(/--.*$/, ''));
    targets.forEach((name, i) => {
      if (/^KEYS\[[^\]]+\]$/.test(values[i] ?? '')) names.add(name);
    });
  }
  const tables = new Set([...source.matchAll(/(\w+)\[[^\]]+\]\s*=\s*KEYS\[[^\]]+\]/g)].map((m) => m[1]!));
  const fields = new Set([...source.matchAll(/(\w+)\s*=\s*KEYS\[[^\]]+\]/g)].map((m) => m[1]!).filter((name) => !names.has(name)));
  return { names, tables, fields };
}

function isKeyExpression(arg: string, aliases: ReturnType<typeof keyAliases>): boolean {
  if (arg.includes('..')) return false; // built by concatenation
  if (/^KEYS\[[^\]]+\]$/.test(arg)) return true;
  if (aliases.names.has(arg)) return true;
  const indexed = /^(\w+)\[[^\]]+\](?:\.(\w+))?$/.exec(arg);
  if (!indexed) return false;
  if (!indexed[2]) return aliases.tables.has(indexed[1]!);
  return aliases.fields.has(indexed[2]);
}

const scripts = readdirSync(SCRIPTS_DIR)
  .filter((file) => file.endsWith('.ts'))
  .flatMap((file) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(path.join(SCRIPTS_DIR, file)) as Record<string, unknown>;
    return Object.entries(module)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([name, source]) => ({ name: `${file} ${name}`, source }));
  });

describe('Lua scripts', () => {
  it('are all found (one per file)', () => {
    expect(scripts.length).toBe(readdirSync(SCRIPTS_DIR).filter((file) => file.endsWith('.ts')).length);
    expect(scripts.length).toBeGreaterThanOrEqual(6);
  });

  describe.each(scripts)('$name', ({ source }) => {
    it('starts with #!lua flags=allow-key-locking', () => {
      expect(source.split('\n')[0]).toBe('#!lua flags=allow-key-locking');
    });

    it('names every ARGV entry in a local on its first lines, and reads ARGV nowhere else', () => {
      const lines = source.split('\n');
      const body = lines.findIndex((line, i) => i > 0 && line.trim() !== '' && !/^local .*\b(KEYS|ARGV)\[/.test(line) && !/^local \w+ = \d+ --/.test(line));
      const header = lines.slice(1, body).join('\n');
      const rest = lines.slice(body).join('\n');
      expect(rest).not.toMatch(/ARGV\[/);
      // The only ARGV use outside the header: `unpack(ARGV, <named first index>)`.
      expect(rest.replace(/unpack\(ARGV, \w+\)/g, '')).not.toMatch(/\bARGV\b/);
      if (/\bARGV\b/.test(source)) expect(header).toMatch(/ARGV/);
    });

    it('reaches Redis keys only through KEYS', () => {
      const aliases = keyAliases(source);
      const calls = redisCalls(source);
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) {
        if (KEYLESS_COMMANDS.has(call.command)) continue;
        expect(KEY_COMMANDS.has(call.command), `unknown command ${call.command}`).toBe(true);
        const keyArgs = call.command === 'DEL' || call.command === 'EXISTS' ? call.args : call.args.slice(0, 1);
        for (const arg of keyArgs) expect(isKeyExpression(arg, aliases), `${call.command} ${arg}`).toBe(true);
      }
    });

    it('names only hash fields declared in lib/store/schema.ts', () => {
      for (const call of redisCalls(source).filter((c) => FIELD_COMMANDS.has(c.command))) {
        for (const arg of call.args.slice(1)) {
          const literal = /^'([^']*)'$/.exec(arg);
          // HSET field, value pairs: literal values are fields only in even positions.
          if (literal && (call.command !== 'HSET' || call.args.indexOf(arg) % 2 === 1)) {
            expect(DECLARED_FIELDS.has(literal[1]!), `${call.command} field ${literal[1]}`).toBe(true);
          }
        }
      }
    });
  });

  describe('the checker itself', () => {
    const check = (source: string) => {
      const aliases = keyAliases(source);
      return redisCalls(source).every((call) => KEYLESS_COMMANDS.has(call.command) || isKeyExpression(call.args[0]!, aliases));
    };

    it.each([
      ['a key built from ARGV', "redis.call('DEL', ARGV[1] .. id)"],
      ['a key built from a KEYS prefix', "redis.call('DEL', KEYS[1] .. ':x')"],
      ['a key read from data', "local k = redis.call('HGET', KEYS[1], 'ref')\nredis.call('DEL', k)"],
      ['a key passed in ARGV', "local k = ARGV[1]\nredis.call('HSET', k, 'a', 1)"],
    ])('refuses %s', (_name, source) => {
      expect(check(source)).toBe(false);
    });

    it.each([
      ['KEYS directly', "redis.call('DEL', KEYS[2])"],
      ['a named key', "local indexKey = KEYS[1]\nredis.call('ZCARD', indexKey)"],
      ['a table of keys from KEYS', "local keyOf = {}\nkeyOf[id] = KEYS[n]\nredis.call('DEL', keyOf[id])"],
    ])('accepts %s', (_name, source) => {
      expect(check(source)).toBe(true);
    });
  });
});
