import { AuthError, type ErrorCode } from '../errors';

/**
 * The one error serializer of the project: the contract's error body `{error, message}` with
 * the code's HTTP status, for the auth functions (functions/http.ts), the middy middleware of
 * other teams' Lambdas (./require-access-token.ts) and the example function behind the
 * authorizer. HTTP statuses live here, not in the flows of lib/.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  token_reused: 401,
  invalid_code: 401,
  forbidden: 403,
  step_up_required: 403,
  email_not_verified: 403,
  account_disabled: 403,
  not_found: 404,
  email_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

export interface ErrorResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  cookies?: string[];
}

/**
 * An AuthError as the response the contract describes: its status, `Content-Type:
 * application/json`, `Cache-Control: no-store`, `Retry-After` when the error carries one,
 * `WWW-Authenticate: Bearer` on `invalid_token` when `bearer` is set (RFC 6750 §3), and any
 * cookies to set (a dead refresh cookie cleared).
 */
export function errorResponse(error: AuthError, options: { bearer?: boolean; cookies?: string[] } = {}): ErrorResponse {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  if (options.bearer && error.code === 'invalid_token') headers['WWW-Authenticate'] = 'Bearer';
  return {
    statusCode: ERROR_STATUS[error.code],
    headers,
    body: JSON.stringify({ error: error.code, message: error.message }),
    ...(options.cookies ? { cookies: options.cookies } : {}),
  };
}

/**
 * An AuthError made middy-style (`statusCode`, `expose`, as @middy/util's HttpError and
 * `http-errors` have them), so a consumer's own error handling sees a regular HTTP error.
 */
export function asHttpError(error: AuthError): AuthError & { statusCode: number; expose: boolean } {
  const statusCode = ERROR_STATUS[error.code];
  return Object.assign(error, { statusCode, expose: statusCode < 500 });
}

export type { ErrorCode };
export { AuthError };
