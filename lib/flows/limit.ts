import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';
import type { Attempt } from '../rate-limit';

/** Counts the attempts under their limits; a refusal is logged as `rate_limited` for `action`. */
export async function limit(deps: Deps, context: RequestContext, action: string, attempts: Attempt[]): Promise<void> {
  try {
    await deps.rateLimiter.check(attempts, deps.clock.now());
  } catch (error) {
    if (error instanceof AuthError && error.code === 'rate_limited') {
      deps.logger.event('rate_limited', context, { outcome: 'denied', reason: action });
    }
    throw error;
  }
}

