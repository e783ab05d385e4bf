/**
 * Reads the principal that this service's authorizer put in the request context, for
 * handlers behind it (ours and other teams'). Works with HTTP API (payload 2.0,
 * `requestContext.authorizer.lambda`) and REST API (v1, `requestContext.authorizer`) events.
 * Structural types only: `lib/` does not depend on `aws-lambda`.
 */
export interface AuthorizedPrincipal {
  userId: string;
  sessionId: string;
  /** Authenticator assurance level of the access token: 1, or 2 after a second factor. */
  aal: 1 | 2;
  /** RFC 8176 method values (the context carries them comma-separated). */
  amr: string[];
}

/** v2: the context sits under `lambda`; v1: directly on `authorizer`. */
interface EventWithAuthorizer {
  requestContext?: { authorizer?: object | null } | null;
}

/** The `{userId, sessionId, aal, amr}` the authorizer allowed, or `null` when the event carries none. */
export function readAuthorizerContext(event: EventWithAuthorizer): AuthorizedPrincipal | null {
  const authorizer = event.requestContext?.authorizer as { lambda?: unknown } | null | undefined;
  const context = (authorizer && typeof authorizer.lambda === 'object' && authorizer.lambda !== null ? authorizer.lambda : authorizer) as
    | Record<string, unknown>
    | null
    | undefined;
  const userId = context?.userId;
  const sessionId = context?.sessionId;
  if (typeof userId !== 'string' || userId === '' || typeof sessionId !== 'string' || sessionId === '') return null;
  // REST API contexts stringify values: aal may arrive as "2".
  const aal = Number(context?.aal) === 2 ? 2 : 1;
  const amr = typeof context?.amr === 'string' && context.amr !== '' ? context.amr.split(',') : ['pwd'];
  return { userId, sessionId, aal, amr };
}
