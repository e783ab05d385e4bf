import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import { readAuthorizerContext } from '../lib/authorizer-context';

/**
 * An example of another team's Lambda behind this stack's authorizer (GET /example/whoami):
 * API Gateway runs the authorizer first, so the handler only reads the principal it allowed.
 * The same helper reads REST API (v1) events.
 */
export const handler = async (
  event: APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, unknown>>,
): Promise<APIGatewayProxyResultV2> => {
  const principal = readAuthorizerContext(event);
  if (!principal) {
    return { statusCode: 401, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: 'invalid_token', message: 'Not authorized.' }) };
  }
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify({ userId: principal.userId, sessionId: principal.sessionId }),
  };
};
