import type { APIGatewayProxyEventV2WithLambdaAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import { readAuthorizerContext } from '../lib/authorizer-context';
import { AuthError } from '../lib/errors';
import { errorResponse } from '../lib/middleware/error-response';

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
    return errorResponse(new AuthError('invalid_token'), { bearer: true });
  }
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify({ userId: principal.userId, sessionId: principal.sessionId }),
  };
};
