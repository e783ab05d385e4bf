import { defineConfig } from 'vitest/config';

/**
 * Three layers (STYLE.md §9): unit (no network), integration (lib/ against a real
 * redis-server through the Upstash-REST gateway and the real @upstash/redis client) and http
 * (a client's view, through serverless-offline), and browser (the example client in headless
 * Chromium). Each layer starts only what it needs.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/support/redis-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'http',
          include: ['tests/http/**/*.test.ts'],
          globalSetup: ['tests/support/stack-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One stack serves every file; files run one at a time against it.
          fileParallelism: false,
        },
      },
      // The same integration and HTTP files against a local three-master Redis Cluster (SPEC
      // "Storage and scale": one slot per operation, every script key in KEYS). Files that
      // test the single-server gateway or start a cluster of their own stay out.
      {
        test: {
          name: 'integration-cluster',
          include: ['tests/integration/**/*.test.ts'],
          exclude: ['tests/integration/gateway.test.ts', 'tests/integration/redis-cluster.test.ts', 'tests/integration/redis-persistence.test.ts', 'tests/integration/redis-client.test.ts'],
          globalSetup: ['tests/support/redis-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'http-cluster',
          include: ['tests/http/**/*.test.ts'],
          globalSetup: ['tests/support/stack-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          globalSetup: ['tests/support/browser-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
