import type { Deps } from '../deps';
import { AuthError } from '../errors';
import type { RequestContext } from '../log';

/**
 * The mail limits (RATE_LIMIT_MAIL_PER_EMAIL, RATE_LIMIT_MAIL_PER_IP) of forgot, resend and
 * verify/request, counted whether or not the address has an account: `rate_limited` (429)
 * beyond them, 503 on a fault.
 */
export async function limitMail(deps: Deps, context: RequestContext, email: string): Promise<void> {
  try {
    await deps.rateLimiter.check(
      [
        { name: 'mailPerEmail', identifier: email },
        { name: 'mailPerIp', identifier: context.ip },
      ],
      deps.clock.now(),
    );
  } catch (error) {
    if (error instanceof AuthError && error.code === 'rate_limited') deps.logger.event('rate_limited', context, { outcome: 'denied', reason: 'mail' });
    throw error;
  }
}
