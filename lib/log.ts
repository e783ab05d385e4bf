import { Logger } from '@aws-lambda-powertools/logger';

/** Every auth event the service records, one structured JSON line each. */
export type AuthEventName =
  | 'register'
  | 'login_ok'
  | 'login_failed'
  | 'refresh'
  | 'reuse_detected'
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'session_evicted'
  | 'rate_limited'
  | 'store_fault'
  | 'email_verification_sent'
  | 'email_verified'
  | 'password_reset_requested'
  | 'password_reset'
  | 'password_changed'
  | 'email_change_requested'
  | 'email_changed'
  | 'account_deleted'
  | 'mail_failed'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'recovery_codes_regenerated'
  | 'passkey_added'
  | 'passkey_removed'
  | 'passkey_counter_regressed'
  | 'admin_action';

/** Who asked: taken from the API Gateway request context by the handler, never from headers. */
export interface RequestContext {
  /** Source IP as API Gateway saw it. */
  ip: string;
  userAgent: string;
  requestId: string;
}

export interface AuthEvent {
  outcome: 'success' | 'failure' | 'denied';
  userId?: string;
  sessionId?: string;
  reason?: string;
  /** Admin Lambda: who asked (the payload's `actor`), and what. */
  actor?: string;
  action?: string;
}

/**
 * The narrow logging port `lib/` uses. Fields are an allow-list: no password, token, refresh
 * token, hash or email ever reaches a log line through it.
 */
export interface AuthLogger {
  event(name: AuthEventName, context: RequestContext, event: AuthEvent): void;
  /** An unexpected error, logged by name and message only (a stack stays in the log, not the response). */
  error(message: string, error: unknown, context?: Partial<RequestContext>): void;
}

export function createAuthLogger(logger: Logger = new Logger({ serviceName: 'auth' })): AuthLogger {
  return {
    event(name, context, event) {
      logger.info(name, {
        event: name,
        outcome: event.outcome,
        userId: event.userId,
        sessionId: event.sessionId,
        sourceIp: context.ip,
        requestId: context.requestId,
        ...(event.reason ? { reason: event.reason } : {}),
        ...(event.actor ? { actor: event.actor, action: event.action } : {}),
      });
    },
    error(message, error, context) {
      const cause = error instanceof Error ? (error.cause ?? error) : error;
      logger.error(message, {
        requestId: context?.requestId,
        error: cause instanceof Error ? { name: cause.name, message: redact(cause.message) } : String(cause),
      });
    },
  };
}

/**
 * @upstash/redis puts the failed command in its error messages (`command was: [...]`), which
 * may carry token hashes or password hashes; keep only the text before it.
 */
function redact(message: string): string {
  const cut = message.indexOf(', command was:');
  return cut === -1 ? message : message.slice(0, cut);
}
