/**
 * Reads the principal that this service's authorizer put in the request context, for
 * handlers behind it (ours and other teams'). Works with HTTP API (payload 2.0,
 * `requestContext.authorizer.lambda`) and REST API (v1, `requestContext.authorizer`) events.
 * Structural types only: `lib/` does not depend on `aws-lambda`.
 */
export interface AuthorizedPrincipal {
  userId: string;
  sessionId: string;
}

interface EventWithAuthorizer {
  requestContext?: {
    authorizer?: ({ lambda?: Record<string, unknown> | null } & Record<string, unknown>) | null;
  } | null;
}

/** The `{userId, sessionId}` the authorizer allowed, or `null` when the event carries none. */
export function readAuthorizerContext(event: EventWithAuthorizer): AuthorizedPrincipal | null {
  const authorizer = event.requestContext?.authorizer;
  const context = authorizer?.lambda ?? authorizer;
  const userId = context?.userId;
  const sessionId = context?.sessionId;
  return typeof userId === 'string' && userId !== '' && typeof sessionId === 'string' && sessionId !== ''
    ? { userId, sessionId }
    : null;
}
