import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  APIGatewayTokenAuthorizerEvent,
} from 'aws-lambda';
import { authorize, type Principal } from '../lib/auth';
import { parseBearer } from '../lib/bearer';
import { StoreUnavailableError } from '../lib/errors';
import type { RequestContext } from '../lib/log';
import { depsIfReady, initDeps, logError } from './cold-start';

/** Redis and the public keys; never a private key or the refresh-token secret. */
const depsPromise = initDeps({ store: true, verify: true });

type AuthorizerEvent = APIGatewayRequestAuthorizerEventV2 | APIGatewayRequestAuthorizerEvent | APIGatewayTokenAuthorizerEvent;
type AuthorizerContext = { userId: string; sessionId: string; aal: number; amr: string };
type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>> | APIGatewayAuthorizerResult;



/**
 * The custom authorizer for HTTP APIs (payload 2.0, simple responses) and REST APIs
 * (v1 REQUEST and TOKEN events, IAM policy). Allows when the bearer token verifies and its
 * session is alive; denies on anything else, including any Redis fault (fail closed). Never
 * throws: a thrown error would be a 500 where a deny is meant.
 */
export const handler = async (event: AuthorizerEvent): Promise<AuthorizerResult> => {
  const principal = await decide(event);
  if ('version' in event && event.version === '2.0') {
    return principal
      ? { isAuthorized: true, context: contextOf(principal) }
      : { isAuthorized: false, context: {} };
  }
  return policyFor(principal, 'methodArn' in event ? event.methodArn : '');
};

/** The context other teams' handlers read (lib/authorizer-context.ts): `amr` comma-separated, as REST API contexts take only scalars. */
function contextOf(principal: Required<Principal>): AuthorizerContext {
  return { userId: principal.userId, sessionId: principal.sessionId, aal: principal.aal, amr: principal.amr.join(',') };
}

async function decide(event: AuthorizerEvent): Promise<Required<Principal> | null> {
  const token = bearerToken(event);
  if (!token) return null;
  try {
    return await authorize(await depsPromise, token);
  } catch (error) {
    const context = requestContextOf(event);
    await logError(error instanceof StoreUnavailableError ? 'store_fault' : 'authorizer_error', error, context.requestId);
    // The security event as the HTTP functions emit it, so a store outage seen only by the
    // authorizer (the busiest function) reaches the same alarms.
    if (error instanceof StoreUnavailableError) (await depsIfReady())?.logger.event('store_fault', context, { outcome: 'failure' });
    return null;
  }
}

/** Who asked, for the log: the caller's address as API Gateway saw it, and the request id. */
function requestContextOf(event: AuthorizerEvent): RequestContext {
  if (event.type === 'TOKEN') return { ip: '', userAgent: '', requestId: '' };
  const requestContext = event.requestContext as { requestId?: string; http?: { sourceIp?: string; userAgent?: string }; identity?: { sourceIp?: string; userAgent?: string } };
  const source = requestContext.http ?? requestContext.identity;
  return { ip: source?.sourceIp ?? '', userAgent: source?.userAgent ?? '', requestId: requestContext.requestId ?? '' };
}

function bearerToken(event: AuthorizerEvent): string | null {
  let header: string | undefined;
  if (event.type === 'TOKEN') header = event.authorizationToken;
  else {
    const headers = event.headers ?? {};
    header = headers.authorization ?? headers.Authorization;
    if (header === undefined) {
      // REST API v1 keeps the client's header casing.
      const key = Object.keys(headers).find((name) => name.toLowerCase() === 'authorization');
      header = key ? headers[key] : undefined;
    }
  }
  return parseBearer(header);
}

/**
 * The IAM policy for REST APIs. The decision depends only on the token, never on the route,
 * so the policy covers every method and path of the API stage (`.../stage/*`): a cached Allow
 * keeps working on the caller's other routes, and a Deny covers them all. A route-specific
 * policy would be wrong under caching (it is the bug in Auth0's sample authorizer).
 */
function policyFor(principal: Required<Principal> | null, methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId: principal?.userId ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: principal ? 'Allow' : 'Deny', Resource: apiWideArn(methodArn) }],
    },
    ...(principal ? { context: contextOf(principal) } : {}),
  };
}

/** `arn:aws:execute-api:region:account:apiId/stage/METHOD/path` → `arn:...:apiId/stage/*`. */
export function apiWideArn(methodArn: string): string {
  // The API id is joined to the account by a colon: the first '/' part is `...:apiId`.
  const [prefix, stage] = methodArn.split('/');
  return prefix && stage ? `${prefix}/${stage}/*` : methodArn;
}
