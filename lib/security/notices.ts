import type { Deps } from '../deps';
import type { RequestContext } from '../log';
import { mails, type SecurityNoticeDetails } from '../mail/templates';

/**
 * The security notices mailed to a user (SPEC "Security activity and notifications"), with
 * SECURITY_NOTIFICATIONS on (the default). Each says what happened, when, from where (IP,
 * device name, user agent) and what to do, with a link to the app's security page
 * (SECURITY_PAGE_URL).
 */
export type SecurityNoticeKind =
  | 'new_device'
  | 'refresh_token_reused'
  | 'password_changed'
  | 'password_reset'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'passkey_added';

const sleep = (ms: number) => new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), ms).unref?.());

/**
 * Mails a security notice to `to` about the request in `context`. Never fails and never holds
 * the request up for long: a send fault is logged (`mail_failed`), and a send still under way
 * after SECURITY_NOTICE_WAIT_MS (default 1000) is left to finish on its own (and log its own
 * fault) while the request answers. A function configured without `mail` has no mailer: the
 * refusal is logged the same way.
 *
 * For other modules (e.g. passkeys): `await sendSecurityNotice(deps, 'passkey_added', user.email, context, { deviceName: passkeyName })`.
 */
export async function sendSecurityNotice(
  deps: Deps,
  kind: SecurityNoticeKind,
  to: string,
  context: RequestContext,
  details: { deviceName?: string; userId?: string } = {},
): Promise<void> {
  const mail = deps.config.mail;
  if (mail && !mail.securityNotifications) return;
  const sending = (async () => {
    const notice: SecurityNoticeDetails = {
      at: new Date(deps.clock.now()).toISOString(),
      ip: context.ip,
      userAgent: context.userAgent,
      deviceName: details.deviceName ?? '',
      securityPageUrl: mail?.securityPageUrl ?? '',
    };
    await deps.mailer.send(mails.securityNotice(to, kind, notice));
  })().then(
    () => 'sent' as const,
    (error: unknown) => {
      deps.logger.error('mail_failed', error, { requestId: context.requestId });
      deps.logger.event('mail_failed', context, { outcome: 'failure', ...(details.userId ? { userId: details.userId } : {}), reason: `security_notice:${kind}` });
      return 'failed' as const;
    },
  );
  await Promise.race([sending, sleep(mail?.noticeWaitMs ?? 0)]);
}
