import type { ConfigNeeds } from '../lib/config';
import { createDeps, type Deps, type MailerFactory } from '../lib/deps';

/** By needs: each function is bundled on its own, but a process that loads several handlers (tests) must not share one function's deps with another. */
const depsByNeeds = new Map<string, Promise<Deps>>();
let latest: Promise<Deps> | undefined;

/**
 * The deps of this Lambda, built once per cold start from what the function needs (least
 * privilege: a function loads only its own secrets; lib/config.ts `ConfigNeeds`), and awaited by
 * every invocation. Called by the handler module at import, so the work happens in the cold
 * start. A configuration error is kept rather than thrown at import, so that each request
 * answers a clean 500 (or the authorizer denies) instead of the runtime printing a stack
 * trace; {@link logError} logs it, naming the variable.
 */
export function initDeps(needs: ConfigNeeds, createMailer?: MailerFactory): Promise<Deps> {
  const key = JSON.stringify(needs);
  let deps = depsByNeeds.get(key);
  if (!deps) {
    deps = createDeps({ needs, ...(createMailer ? { createMailer } : {}) });
    deps.catch(() => undefined);
    depsByNeeds.set(key, deps);
  }
  latest = deps;
  return deps;
}

/** The deps made last (for logging), or `undefined` when none are made or the configuration is unusable. */
export function depsIfReady(): Promise<Deps | undefined> {
  return latest ? latest.catch(() => undefined) : Promise.resolve(undefined);
}

/**
 * Logs an error with the Powertools logger when the deps exist; when they do not (the error is
 * the configuration error itself), as one JSON line on stderr with its message, which names
 * the variable and holds no secret.
 */
export async function logError(message: string, error: unknown, requestId?: string): Promise<void> {
  const deps = await depsIfReady();
  if (deps) deps.logger.error(message, error, { requestId });
  else console.error(JSON.stringify({ level: 'ERROR', message, error: (error as Error)?.message, requestId }));
}
