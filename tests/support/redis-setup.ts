import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startGateway } from '../../dev/gateway';
import { startRedisServer } from '../../dev/redis-server';

declare module 'vitest' {
  export interface ProvidedContext {
    gatewayUrl: string;
    gatewayToken: string;
    redisPort: number;
  }
}

/** One real redis-server and one gateway for all integration tests (each test file uses its own key prefix). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedisServer({ dir: path.resolve(__dirname, '../../.tmp') });
  const token = randomBytes(24).toString('base64url');
  const gateway = await startGateway({ redisPort: redis.port, token });
  project.provide('gatewayUrl', gateway.url);
  project.provide('gatewayToken', token);
  project.provide('redisPort', redis.port);
  return async () => {
    await gateway.close();
    await redis.stop();
  };
}
