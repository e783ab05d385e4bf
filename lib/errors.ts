import type { ErrorCode } from '../client/src/contract';

export type { ErrorCode };

/**
 * The error codes of the public contract (shared/SPEC.md; the type is the contract's, in
 * client/src/contract.ts). `lib/` fails only with {@link AuthError};
 * lib/middleware/error-response.ts maps a code to its HTTP status and body.
 */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_credentials',
  'invalid_token',
  'token_reused',
  'invalid_code',
  'forbidden',
  'step_up_required',
  'email_not_verified',
  'account_disabled',
  'not_found',
  'email_taken',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal_error',
  'service_unavailable',
] as const satisfies readonly ErrorCode[];

/** Default human text per code; callers may give a more precise one (never a secret). */
const DEFAULT_MESSAGE: Record<ErrorCode, string> = {
  invalid_request: 'The request is malformed.',
  invalid_credentials: 'The email or password is incorrect.',
  invalid_token: 'The token is invalid, expired or revoked.',
  token_reused: 'The refresh token was already used; the session has been revoked.',
  forbidden: 'The request is not allowed from this origin.',
  invalid_code: 'The code is wrong, expired or already used.',
  step_up_required: 'Confirm it is you with your second factor first (POST /auth/mfa/step-up).',
  email_not_verified: 'Confirm your email address first: follow the link mailed to you.',
  account_disabled: 'This account is disabled.',
  not_found: 'Not found.',
  email_taken: 'An account with this email already exists.',
  payload_too_large: 'The request body is larger than 16384 bytes.',
  unsupported_media_type: 'The request body must be application/json.',
  rate_limited: 'Too many requests; retry later.',
  internal_error: 'Something went wrong on our side.',
  service_unavailable: 'The service is temporarily unavailable; retry later.',
};

/** An expected failure with a stable code. `retryAfterSeconds` becomes `Retry-After` over HTTP. */
export class AuthError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(message ?? DEFAULT_MESSAGE[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * Redis could not be reached or answered with an error. Always surfaces as 503
 * `service_unavailable`: a store fault never lets a request through.
 */
export class StoreUnavailableError extends AuthError {
  constructor(cause: unknown) {
    super('service_unavailable', undefined, { retryAfterSeconds: 1, cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A configuration variable is missing or unsafe; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A mail could not be handed to the transport (SMTP down or hung, SES refusing). Surfaces as
 * 503 `service_unavailable` where the mail is the request's purpose; elsewhere it is logged.
 */
export class MailUnavailableError extends AuthError {
  constructor(cause: unknown) {
    super('service_unavailable', 'The mail could not be sent; retry later.', { retryAfterSeconds: 5, cause });
    this.name = 'MailUnavailableError';
  }
}
