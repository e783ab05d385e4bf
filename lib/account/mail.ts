import type { Deps } from '../deps';
import { MailUnavailableError } from '../errors';
import type { RequestContext } from '../log';
import type { MailMessage } from '../mail/mailer';

/** Sends a mail that is the request's purpose: a fault fails the request with 503. */
export async function sendRequired(deps: Deps, message: MailMessage, context: RequestContext, userId?: string): Promise<void> {
  try {
    await deps.mailer.send(message);
  } catch (error) {
    deps.logger.error('mail_failed', error, { requestId: context.requestId });
    deps.logger.event('mail_failed', context, { outcome: 'failure', ...(userId ? { userId } : {}), reason: message.subject });
    throw new MailUnavailableError(error);
  }
}

/** Sends a notice (password changed, ...): a fault is logged and never fails the request. */
export async function sendNotice(deps: Deps, message: MailMessage, context: RequestContext, userId?: string): Promise<void> {
  try {
    await deps.mailer.send(message);
  } catch (error) {
    deps.logger.error('mail_failed', error, { requestId: context.requestId });
    deps.logger.event('mail_failed', context, { outcome: 'failure', ...(userId ? { userId } : {}), reason: message.subject });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * For the answers that must not tell a known address from an unknown one (forgot, resend):
 * waits until MAIL_RESPONSE_FLOOR_MS after `startedMs`, and meanwhile lets `mail` (if any)
 * go out; a mail still on its way at the floor is left to finish (and log) on its own, a
 * failed one is logged. Either way the caller answers the same 202 at about the same time.
 */
export async function answerAtFloor(deps: Deps, startedMs: number, context: RequestContext, mail?: () => Promise<void>): Promise<void> {
  const floor = sleep(startedMs + deps.config.mailResponseFloorMs - Date.now());
  if (!mail) return floor;
  const sending = mail().catch((error: unknown) => {
    deps.logger.error('mail_failed', error, { requestId: context.requestId });
    deps.logger.event('mail_failed', context, { outcome: 'failure' });
  });
  void sending;
  await floor;
}
