import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { buildClient } from '../../dev/build-client';
import { generateSigningKey } from '../../dev/keys';
import { startStack } from '../../dev/stack';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    stackGatewayUrl: string;
    stackGatewayToken: string;
    stackEnv: Record<string, string>;
    /** The stack's maildev (web UI and REST API), where every mail it sends lands. */
    stackMailUrl: string;
    /** Private JWK of a key listed only in JWT_VERIFY_KEYS (the "previous" signing key of a rotation). */
    previousSigningKey: string;
  }
}

/**
 * The configuration every HTTP test runs against. Cheap bcrypt so the suite is fast; a cap of
 * 3 sessions and a 2 s grace interval so those rules can be seen; per-IP limits high because
 * every test client is 127.0.0.1 (the per-IP limits are proven in integration tests).
 */
export const HTTP_TEST_ENV: Record<string, string> = {
  BCRYPT_COST: '4',
  MAX_SESSIONS_PER_USER: '3',
  REFRESH_REUSE_INTERVAL_SECONDS: '2',
  RATE_LIMIT_LOGIN_PER_IP: '10000/60s',
  RATE_LIMIT_LOGIN_PER_ACCOUNT: '8/60s',
  RATE_LIMIT_REGISTER_PER_IP: '10000/60s',
  RATE_LIMIT_REFRESH_PER_SESSION: '30/60s',
  CORS_ALLOWED_ORIGINS: 'https://app.example.test',
};

/** The whole local stack (redis-server, gateway, serverless-offline), as `npm start` runs it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The `http-cluster` project runs the same files against a three-master Redis Cluster, on
  // ports of its own (both projects may run at once).
  const cluster = project.name.endsWith('-cluster');
  // The SDK's tests run the built package (client/dist, git-ignored).
  await buildClient();
  const port = Number(process.env.TEST_HTTP_PORT ?? 3100) + (cluster ? 10 : 0);
  // Mid-rotation, as after step 3 of the rotation procedure (docs/operations.md): a previous key still verifies.
  const previous = await generateSigningKey('EdDSA');
  const stack = await startStack({
    port,
    lambdaPort: port + 2,
    output: process.env.TEST_STACK_OUTPUT === 'inherit' ? 'inherit' : 'ignore',
    persist: false,
    env: {
      ...HTTP_TEST_ENV,
      DEV_REDIS: cluster ? 'cluster' : 'single',
      JWT_VERIFY_KEYS: JSON.stringify({ keys: [previous.publicJwk] }),
      REDIS_KEY_PREFIX: `test-${randomBytes(4).toString('hex')}:`,
    },
  });
  project.provide('apiUrl', stack.url);
  project.provide('stackGatewayUrl', stack.gateway.url);
  project.provide('stackGatewayToken', stack.env.UPSTASH_REDIS_REST_TOKEN!);
  project.provide('stackEnv', stack.env);
  project.provide('stackMailUrl', stack.mailUrl);
  project.provide('previousSigningKey', JSON.stringify(previous.privateJwk));
  return () => stack.stop();
}
