import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startGateway } from '../../dev/gateway';
import { startMaildev } from '../../dev/maildev';
import { startRedisCluster } from '../../dev/redis-cluster';
import { startRedisServer } from '../../dev/redis-server';

declare module 'vitest' {
  export interface ProvidedContext {
    gatewayUrl: string;
    gatewayToken: string;
    /** `single` (one redis-server) or `cluster` (three masters), by project name. */
    redisMode: 'single' | 'cluster';
    /** The suite's maildev: SMTP_URL, and its REST API (GET /api/email). */
    smtpUrl: string;
    mailWebUrl: string;
  }
}

/**
 * One real Redis and one gateway for all integration tests (each test file uses its own key
 * prefix): a single redis-server, or, for the `*-cluster` project, a three-master Redis
 * Cluster that the gateway routes by slot. Throwaway data, in a temporary folder.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = project.name.endsWith('-cluster') ? 'cluster' : 'single';
  const tmp = path.resolve(__dirname, '../../.tmp');
  mkdirSync(tmp, { recursive: true });
  const dir = mkdtempSync(path.join(tmp, `redis-${mode}-`));
  const redis = mode === 'cluster' ? await startRedisCluster({ dir }) : await startRedisServer({ dir });
  const token = randomBytes(24).toString('base64url');
  const gateway = await startGateway({ ...('nodes' in redis ? { cluster: redis.nodes } : { redisPort: redis.port }), token });
  const maildev = await startMaildev();
  project.provide('gatewayUrl', gateway.url);
  project.provide('gatewayToken', token);
  project.provide('redisMode', mode);
  project.provide('smtpUrl', maildev.smtpUrl);
  project.provide('mailWebUrl', maildev.webUrl);
  return async () => {
    await maildev.stop();
    await gateway.close();
    await redis.stop();
  };
}
