import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildClient } from '../../dev/build-client';
import { startStack } from '../../dev/stack';
import { ensureChromium } from '../../dev/system-packages';
import { HTTP_TEST_ENV } from './stack-setup';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A file the stack's auth log lines (one JSON object each) are appended to, as they come. */
    browserAuthLog: string;
    browserApiUrl: string;
    browserExamplesUrl: string;
    browserMailUrl: string;
    chromiumPath: string;
  }
}

export const BROWSER_ACCESS_TOKEN_TTL_SECONDS = 12;

/** The auth event of a log line of the stack (lib/log.ts: one JSON object with `event`), if it is one. */
function authEventIn(line: string): Record<string, unknown> | undefined {
  const start = line.indexOf('{');
  if (start === -1) return undefined;
  try {
    const parsed = JSON.parse(line.slice(start)) as Record<string, unknown>;
    return typeof parsed.event === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A stack of its own for the browser test, with the example client served next to it (as npm start does). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Before the stack: installs Debian's chromium when missing and root, else fails with the command to run.
  project.provide('chromiumPath', ensureChromium((msg) => console.log(`[browser-setup] ${msg}`)));
  // The example app runs on the built SDK (client/dist, git-ignored).
  await buildClient();
  const port = Number(process.env.TEST_BROWSER_PORT ?? 3300);
  // The functions' auth events, so a test can count what the server saw (refreshes per session).
  const authLog = path.resolve(__dirname, `../../.tmp/browser-auth-log-${port}.jsonl`);
  mkdirSync(path.dirname(authLog), { recursive: true });
  writeFileSync(authLog, '');
  const inherit = process.env.TEST_STACK_OUTPUT === 'inherit';
  const stack = await startStack({
    port,
    lambdaPort: port + 2,
    examplesPort: port + 80,
    output: (line) => {
      if (inherit) console.log(line);
      const event = authEventIn(line);
      if (event) appendFileSync(authLog, `${JSON.stringify(event)}\n`);
    },
    persist: false,
    env: {
      ...HTTP_TEST_ENV,
      // Short-lived access tokens, so the SDK's refresh across tabs can be watched in seconds.
      ACCESS_TOKEN_TTL_SECONDS: String(BROWSER_ACCESS_TOKEN_TTL_SECONDS),
      // The example's own origin, as npm start allows it.
      CORS_ALLOWED_ORIGINS: `http://localhost:${port + 80}`,
      REDIS_KEY_PREFIX: `browser-${randomBytes(4).toString('hex')}:`,
    },
  });
  project.provide('browserAuthLog', authLog);
  project.provide('browserApiUrl', `http://localhost:${port}`);
  project.provide('browserExamplesUrl', stack.examplesUrl!);
  project.provide('browserMailUrl', stack.mailUrl);
  return () => stack.stop();
}
