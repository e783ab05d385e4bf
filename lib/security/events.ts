import type { Redis } from '@upstash/redis';
import type { SecurityEvent, SecurityEventType } from '../../client/src/contract';
import type { Config } from '../config';
import type { Deps } from '../deps';
import type { RequestContext } from '../log';
import { guardStore, runScript } from '../store/redis';
import { RECORD_SECURITY_EVENT } from '../store/scripts/record-security-event';

/**
 * A user's own security activity (SPEC "Security activity and notifications"; GET
 * /auth/security-events): a bounded list per user in the user's slot
 * (`keys.securityEvents(userId)`), newest first, at most {@link MAX_SECURITY_EVENTS}; its TTL is
 * renewed by every write ({@link securityEventsTtlMs}), so the list of an idle account expires.
 * An event holds what happened, when and from where; never a token, code, hash or password.
 */
export type { SecurityEvent, SecurityEventType } from '../../client/src/contract';

/** How many events a user's list keeps (the oldest drop out). */
export const MAX_SECURITY_EVENTS = 100;
const MAX_USER_AGENT = 512;
const MAX_DEVICE_NAME = 100;
/** The floor of the list's idle lifetime: 90 days. */
const MIN_EVENTS_TTL_MS = 90 * 86_400_000;

/**
 * How long a user's event list lives after its last write: the longer of 90 days and the
 * absolute session lifetime, so the list outlives every session it speaks of, and an account
 * nobody uses stops holding data after that.
 */
export function securityEventsTtlMs(config: Config): number {
  return Math.max(MIN_EVENTS_TTL_MS, config.sessionMaxTtlSeconds * 1000);
}

/** The event, from the request that caused it (the client IP API Gateway saw, its user agent). */
export function securityEvent(
  deps: Deps,
  type: SecurityEventType,
  context: Pick<RequestContext, 'ip' | 'userAgent'>,
  details: { deviceName?: string; sessionId?: string } = {},
): SecurityEvent {
  return {
    type,
    at: new Date(deps.clock.now()).toISOString(),
    ip: context.ip,
    userAgent: context.userAgent.slice(0, MAX_USER_AGENT),
    deviceName: [...(details.deviceName ?? '')].slice(0, MAX_DEVICE_NAME).join(''),
    ...(details.sessionId ? { sessionId: details.sessionId } : {}),
  };
}

/** What a script that records an event in passing needs: the event's JSON, the cap, the TTL (ms). */
export function securityEventArgs(deps: Deps, event: SecurityEvent): [string, number, number] {
  return [JSON.stringify(event), MAX_SECURITY_EVENTS, securityEventsTtlMs(deps.config)];
}

/**
 * Records one security event for a user: one store request (a script: push, cap, renew the
 * TTL; nothing when the user is gone), on `options.redis` when given (login sends it in its
 * same-tick pipeline). A store fault is logged and never fails the request that caused the
 * event: the change it reports has already happened.
 *
 * For other modules (e.g. passkeys): `await recordSecurityEvent(deps, userId, 'passkey_added', context, { sessionId })`.
 */
export async function recordSecurityEvent(
  deps: Deps,
  userId: string,
  type: SecurityEventType,
  context: RequestContext,
  details: { deviceName?: string; sessionId?: string } = {},
  options: { redis?: Redis } = {},
): Promise<void> {
  try {
    await runScript(options.redis ?? deps.redis, RECORD_SECURITY_EVENT, [deps.keys.securityEvents(userId), deps.keys.user(userId)], securityEventArgs(deps, securityEvent(deps, type, context, details)));
  } catch (error) {
    deps.logger.error('security_event_failed', error, { requestId: context.requestId });
  }
}

/** A user's security events, newest first (at most {@link MAX_SECURITY_EVENTS}). One store request. */
export async function listSecurityEvents(deps: Deps, userId: string): Promise<SecurityEvent[]> {
  const raw = await guardStore(() => deps.redis.lrange<unknown>(deps.keys.securityEvents(userId), 0, MAX_SECURITY_EVENTS - 1));
  return raw.flatMap((entry) => {
    const event = typeof entry === 'string' ? safeParse(entry) : entry;
    return isEvent(event) ? [event] : [];
  });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isEvent(value: unknown): value is SecurityEvent {
  return typeof value === 'object' && value !== null && typeof (value as SecurityEvent).type === 'string' && typeof (value as SecurityEvent).at === 'string';
}
