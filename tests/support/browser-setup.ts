import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { buildClient } from '../../dev/build-client';
import { startStack } from '../../dev/stack';
import { ensureChromium } from '../../dev/system-packages';
import { HTTP_TEST_ENV } from './stack-setup';

declare module 'vitest' {
  export interface ProvidedContext {
    browserApiUrl: string;
    browserExamplesUrl: string;
    browserMailUrl: string;
    chromiumPath: string;
  }
}

/** A stack of its own for the browser test, with the example client served next to it (as npm start does). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Before the stack: installs Debian's chromium when missing and root, else fails with the command to run.
  project.provide('chromiumPath', ensureChromium((msg) => console.log(`[browser-setup] ${msg}`)));
  // The example app runs on the built SDK (client/dist, git-ignored).
  await buildClient();
  const port = Number(process.env.TEST_BROWSER_PORT ?? 3300);
  const stack = await startStack({
    port,
    lambdaPort: port + 2,
    examplesPort: port + 80,
    output: process.env.TEST_STACK_OUTPUT === 'inherit' ? 'inherit' : 'ignore',
    persist: false,
    env: {
      ...HTTP_TEST_ENV,
      // The example's own origin, as npm start allows it.
      CORS_ALLOWED_ORIGINS: `http://localhost:${port + 80}`,
      REDIS_KEY_PREFIX: `browser-${randomBytes(4).toString('hex')}:`,
    },
  });
  project.provide('browserApiUrl', `http://localhost:${port}`);
  project.provide('browserExamplesUrl', stack.examplesUrl!);
  project.provide('browserMailUrl', stack.mailUrl);
  return () => stack.stop();
}
