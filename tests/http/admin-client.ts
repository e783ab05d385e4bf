import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { inject } from 'vitest';

/**
 * The admin Lambda as another service calls it: the real AWS SDK's InvokeCommand, against
 * serverless-offline's Lambda endpoint (the stack's HTTP port + 2; dev/stack.ts), with dummy
 * credentials (serverless-offline checks none; IAM does when deployed).
 */
/** The deployed name: service-stage-function; the dev stack runs stage `local` (dev/stack.ts). */
export const ADMIN_FUNCTION = 'serverless-auth-local-admin';
let client: LambdaClient | undefined;

export function lambdaEndpoint(): string {
  const api = new URL(inject('apiUrl'));
  return `http://localhost:${Number(api.port) + 2}`;
}

export async function invokeAdmin(payload: unknown): Promise<{ statusCode: number | undefined; functionError: string | undefined; result: any }> {
  client ??= new LambdaClient({ region: 'us-east-1', endpoint: lambdaEndpoint(), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const response = await client.send(
    new InvokeCommand({ FunctionName: ADMIN_FUNCTION, Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
  );
  const text = response.Payload ? new TextDecoder().decode(response.Payload) : '';
  return { statusCode: response.StatusCode, functionError: response.FunctionError, result: text ? JSON.parse(text) : undefined };
}
