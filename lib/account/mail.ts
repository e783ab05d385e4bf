import type { Deps } from '../deps';
import { MailUnavailableError } from '../errors';
import type { RequestContext } from '../log';
import type { MailMessage } from '../mail/mailer';
import { findCredentials, normalizeEmail, type Credentials } from '../users/users';
import { limitMail } from './mail-limits';

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

/**
 * The public mail requests (forgot, resend) in one shape: normalize the address, count it under
 * the mail limits (known or not), look the account up, then answer at the floor while `send`
 * mails it (only when there is an account), so the answer tells nothing about the address.
 */
export async function mailIfKnown(
  deps: Deps,
  input: { email: unknown },
  context: RequestContext,
  handlers: { found?: (credentials: Credentials | null) => void; send: (credentials: Credentials, email: string) => Promise<void> },
): Promise<void> {
  const started = Date.now();
  const email = normalizeEmail(input.email);
  await limitMail(deps, context, email);
  const credentials = await findCredentials(deps.redis, deps.keys, email);
  handlers.found?.(credentials);
  await answerAtFloor(deps, started, context, credentials ? () => handlers.send(credentials, email) : undefined);
}
