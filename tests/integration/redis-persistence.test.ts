/**
 * `npm start`'s redis-server keeps its data in an append-only file under .dev/redis, so users
 * and sessions survive stopping and starting the stack (dev/stack.ts passes `persist: true`
 * there; the test stacks pass `persist: false` and get a throwaway folder). Proven here on the
 * real binary in a folder of its own: write, stop, start again on the same folder, read.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../dev/redis-server';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function roundTrip(persist: boolean): Promise<string | null> {
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-persist-'));
  dirs.push(dir);
  const first = await startRedisServer({ dir, persist });
  const writer = new Redis({ port: first.port, host: '127.0.0.1', lazyConnect: true });
  await writer.connect();
  await writer.hset('auth:v2:{user}:user', 'email', 'kept@example.com');
  writer.disconnect();
  await first.stop();

  const second = await startRedisServer({ dir, persist });
  const reader = new Redis({ port: second.port, host: '127.0.0.1', lazyConnect: true });
  await reader.connect();
  const value = await reader.hget('auth:v2:{user}:user', 'email');
  reader.disconnect();
  await second.stop();
  if (persist) expect(readdirSync(dir)).toContain('appendonlydir');
  return value;
}

describe('redis-server data across a restart', () => {
  it('with persist: survives (append-only file in the folder)', async () => {
    expect(await roundTrip(true)).toBe('kept@example.com');
  });

  it('without persist (tests): starts empty', async () => {
    expect(await roundTrip(false)).toBeNull();
  });
});
