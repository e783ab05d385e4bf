import { listSecurityEvents } from '../lib/security/events';
import { httpHandler, json, principalOf } from './http';

/** GET /auth/security-events → 200 `{events}`: the caller's last 100 security events, newest first. */
export const handler = httpHandler({ body: 'none', needs: { store: true } }, async ({ event, deps }) => {
  const principal = principalOf(event);
  return json(200, { events: await listSecurityEvents(deps, principal.userId) });
});
