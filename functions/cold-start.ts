import { createDeps, type Deps } from '../lib/deps';

/**
 * The deps of this Lambda, built once per cold start (configuration validated, keys imported,
 * Redis client made) and awaited by every invocation. A configuration error is kept rather
 * than thrown at import, so that each request answers a clean 500 (or the authorizer denies)
 * instead of the runtime printing a stack trace; {@link logError} logs it, naming the variable.
 */
export const depsPromise: Promise<Deps> = createDeps();
depsPromise.catch(() => undefined);

/** The deps, or `undefined` when the configuration is unusable. */
export function depsIfReady(): Promise<Deps | undefined> {
  return depsPromise.catch(() => undefined);
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
