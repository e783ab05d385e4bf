import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  APIGatewayTokenAuthorizerEvent,
} from 'aws-lambda';
import { authorize, type Principal } from '../lib/auth';
import { createDeps, type Deps } from '../lib/deps';
import { StoreUnavailableError } from '../lib/errors';

type AuthorizerEvent = APIGatewayRequestAuthorizerEventV2 | APIGatewayRequestAuthorizerEvent | APIGatewayTokenAuthorizerEvent;
type AuthorizerContext = { userId: string; sessionId: string };
type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>> | APIGatewayAuthorizerResult;

const depsPromise: Promise<Deps> = createDeps();
depsPromise.catch(() => undefined);

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

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
      ? { isAuthorized: true, context: { userId: principal.userId, sessionId: principal.sessionId } }
      : { isAuthorized: false, context: {} };
  }
  return policyFor(principal, 'methodArn' in event ? event.methodArn : '');
};

async function decide(event: AuthorizerEvent): Promise<Principal | null> {
  const token = bearerToken(event);
  if (!token) return null;
  let deps: Deps | undefined;
  try {
    deps = await depsPromise;
    return await authorize(deps, token);
  } catch (error) {
    if (deps && error instanceof StoreUnavailableError) deps.logger.error('store_fault', error);
    else if (deps) deps.logger.error('authorizer_error', error);
    else console.error(JSON.stringify({ level: 'ERROR', message: 'authorizer_config_error', error: (error as Error)?.message }));
    return null;
  }
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
  return header ? (BEARER.exec(header)?.[1] ?? null) : null;
}

/**
 * The IAM policy for REST APIs. The decision depends only on the token, never on the route,
 * so the policy covers every method and path of the API stage (`.../stage/*`): a cached Allow
 * keeps working on the caller's other routes, and a Deny covers them all. A route-specific
 * policy would be wrong under caching (it is the bug in Auth0's sample authorizer).
 */
function policyFor(principal: Principal | null, methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId: principal?.userId ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: principal ? 'Allow' : 'Deny', Resource: apiWideArn(methodArn) }],
    },
    ...(principal ? { context: { userId: principal.userId, sessionId: principal.sessionId } } : {}),
  };
}

/** `arn:aws:execute-api:region:account:apiId/stage/METHOD/path` → `arn:...:apiId/stage/*`. */
export function apiWideArn(methodArn: string): string {
  // The API id is joined to the account by a colon: the first '/' part is `...:apiId`.
  const [prefix, stage] = methodArn.split('/');
  return prefix && stage ? `${prefix}/${stage}/*` : methodArn;
}
