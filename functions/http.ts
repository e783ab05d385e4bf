import middy, { type MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { readAuthorizerContext, type AuthorizedPrincipal } from '../lib/authorizer-context';
import type { Deps } from '../lib/deps';
import { AuthError, StoreUnavailableError, type ErrorCode } from '../lib/errors';
import { errorResponse } from '../lib/middleware/error-response';
import type { TokenResponse } from '../lib/auth';
import type { RequestContext } from '../lib/log';
import { refreshCookie, type RefreshTransport } from './refresh-cookie';
import type { ConfigNeeds } from '../lib/config';
import type { MailerFactory } from '../lib/deps';
import { depsIfReady, initDeps, logError } from './cold-start';

/** Bodies over this many bytes are refused before anything parses or hashes them. */
export const MAX_BODY_BYTES = 16_384;

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { lambda?: Record<string, unknown> } };
};
export type HttpResult = { statusCode: number; body?: unknown; headers?: Record<string, string>; cookies?: string[] };

/** `required`: a JSON body must be there; `optional`: no body at all is fine (cookie refresh); `none`: ignored. */
export type BodyMode = 'required' | 'optional' | 'none';

export interface HandlerInput<TBody> {
  event: HttpEvent;
  body: TBody;
  deps: Deps;
  context: RequestContext;
}

/** A JSON response; `Cache-Control: no-store` since every answer of an auth API is personal. */
export function json(statusCode: number, body?: unknown, headers: Record<string, string> = {}, cookies?: string[]): HttpResult {
  return { statusCode, body, headers, ...(cookies ? { cookies } : {}) };
}

/**
 * Wraps a thin handler in the shared HTTP stack, and starts building the deps it `needs` (the
 * secrets it may load; serverless.yml gives it exactly those): body size guard (413, first), JSON content
 * type (415) and parsing (400), security headers and the one error mapper. (CORS is API
 * Gateway's job: cors.config.js.) The handler validates its fields, calls one `lib/` function and
 * returns {@link json}; it never builds an error response itself.
 */
export function httpHandler<TBody = undefined>(
  options: { body: BodyMode; needs: ConfigNeeds; createMailer?: MailerFactory },
  handle: (input: HandlerInput<TBody>) => Promise<HttpResult>,
) {
  const depsPromise = initDeps(options.needs, options.createMailer);
  const core = async (event: HttpEvent, lambdaContext: Context): Promise<APIGatewayProxyResultV2> => {
    const deps = await depsPromise;
    const result = await handle({
      event,
      body: (options.body === 'none' ? undefined : event.body) as TBody,
      deps,
      context: requestContextOf(event, lambdaContext),
    });
    return toResponse(result);
  };

  const handler = middy<HttpEvent, APIGatewayProxyResultV2, Error, Context>(core)
    .use(httpSecurityHeaders())
    .use(errorMapper())
    .use(bodySizeGuard());
  if (options.body === 'required') handler.use(httpJsonBodyParser());
  if (options.body === 'optional') handler.use(unlessBodyEmpty(httpJsonBodyParser()));
  return handler;
}

/**
 * The token response of login and refresh. With the cookie transport the refresh token
 * leaves only as an HttpOnly cookie (Max-Age = its remaining life), never in the body.
 */
export function tokenResponse(tokens: TokenResponse, transport: RefreshTransport): HttpResult {
  if (transport === 'body') return json(200, tokens);
  const { refreshToken, ...body } = tokens;
  return json(200, body, {}, [refreshCookie(refreshToken, tokens.refreshExpiresIn)]);
}

/** Cookies the client sent (payload 2.0 `cookies`, or a `Cookie` header). */
export function requestCookies(event: HttpEvent): string[] {
  return event.cookies ?? (event.headers?.cookie ? [event.headers.cookie] : []);
}

/** `METHOD /path` of the request, for a function that serves several routes. */
export function routeOf(event: HttpEvent): string {
  const http = event.requestContext?.http;
  return `${http?.method ?? ''} ${event.rawPath ?? http?.path ?? ''}`;
}

/** A request header by its lower-case name (HTTP API lower-cases them). */
export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name] ?? undefined;
}

function unlessBodyEmpty(
  parser: MiddlewareObj<HttpEvent, APIGatewayProxyResultV2, Error, Context>,
): MiddlewareObj<HttpEvent, APIGatewayProxyResultV2, Error, Context> {
  return {
    before: async (request) => {
      const { body } = request.event;
      if (body === undefined || body === null || body === '') {
        request.event.body = undefined;
        return;
      }
      return parser.before?.(request);
    },
  };
}

/** The principal the authorizer allowed; `invalid_token` if the route was not behind it. */
export function principalOf(event: HttpEvent): AuthorizedPrincipal {
  const principal = readAuthorizerContext(event);
  if (!principal) throw new AuthError('invalid_token');
  return principal;
}

/** Fails with `invalid_request` naming the field unless `value` is a plain JSON object. */
export function requireObject(value: unknown, field = 'body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthError('invalid_request', `${field} must be a JSON object.`);
  }
  return value as Record<string, unknown>;
}

/** Fails with `invalid_request` naming the field unless it is a non-empty string. */
export function requireString(body: Record<string, unknown>, field: string): string {
  const value = Object.hasOwn(body, field) ? body[field] : undefined;
  if (value === undefined || value === null) throw new AuthError('invalid_request', `${field} is required.`);
  if (typeof value !== 'string' || value === '') throw new AuthError('invalid_request', `${field} must be a non-empty string.`);
  return value;
}

/** The optional `device: {name?}` of a sign-in: its name, or undefined. */
export function requireDeviceName(body: Record<string, unknown>): string | undefined {
  if (!Object.hasOwn(body, 'device') || body.device === undefined || body.device === null) return undefined;
  const device = requireObject(body.device, 'device');
  const name = Object.hasOwn(device, 'name') ? device.name : undefined;
  if (name !== undefined && name !== null && typeof name !== 'string') throw new AuthError('invalid_request', 'device.name must be a string.');
  return name ?? undefined;
}

/** The optional `transport` of a sign-in ("body" or "cookie"), else the configured default. */
export function requireTransport(body: Record<string, unknown>, fallback: RefreshTransport): RefreshTransport {
  const transport = Object.hasOwn(body, 'transport') ? body.transport : fallback;
  if (transport !== 'body' && transport !== 'cookie') throw new AuthError('invalid_request', 'transport must be "body" or "cookie".');
  return transport;
}

function requestContextOf(event: HttpEvent, lambdaContext: Context): RequestContext {
  return {
    // The address API Gateway saw; X-Forwarded-For and friends are client-controlled.
    ip: event.requestContext?.http?.sourceIp ?? '',
    userAgent: event.requestContext?.http?.userAgent ?? event.headers?.['user-agent'] ?? '',
    // The Lambda request id: unique per invocation everywhere (serverless-offline puts a
    // constant placeholder in requestContext.requestId).
    requestId: lambdaContext?.awsRequestId ?? event.requestContext?.requestId ?? '',
  };
}

function toResponse(result: HttpResult): APIGatewayProxyResultV2 {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...result.headers };
  const cookies = result.cookies ? { cookies: result.cookies } : {};
  if (result.body === undefined) return { statusCode: result.statusCode, headers, body: '', ...cookies };
  return {
    statusCode: result.statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(result.body),
    ...cookies,
  };
}

/**
 * An error that also sets cookies on its response: a refused refresh cookie is cleared with
 * the refusal (functions/refresh.ts). HTTP only, so it lives here and not on AuthError.
 */
export class ErrorWithCookies extends Error {
  constructor(
    readonly error: AuthError,
    readonly cookies: string[],
  ) {
    super(error.message, { cause: error });
    this.name = 'ErrorWithCookies';
  }
}

/** middy's own HTTP errors (from its parsers) by status, in the contract's codes. */
const MIDDY_STATUS_CODES: Record<number, ErrorCode> = {
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_request',
  400: 'invalid_request',
};

/**
 * The one place errors become responses. AuthError → its code and status; middy's parser
 * errors → the matching contract code; anything else is logged and becomes a bare 500.
 * A stack trace never reaches the client.
 */
function errorMapper(): MiddlewareObj<HttpEvent, APIGatewayProxyResultV2, Error, Context> {
  return {
    onError: async (request) => {
      const cookies = request.error instanceof ErrorWithCookies ? request.error.cookies : undefined;
      const error = request.error instanceof ErrorWithCookies ? request.error.error : request.error;
      const requestId = request.context?.awsRequestId ?? request.event?.requestContext?.requestId;
      if (error instanceof AuthError) {
        if (error instanceof StoreUnavailableError) {
          await logError('store_fault', error, requestId);
          (await depsIfReady())?.logger.event('store_fault', requestContextOf(request.event, request.context), { outcome: 'failure' });
        }
        request.response = errorResponse(error, cookies ? { cookies } : {});
        return;
      }
      const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
      const code = typeof status === 'number' ? MIDDY_STATUS_CODES[status] : undefined;
      if (code) {
        request.response = errorResponse(new AuthError(code, code === 'invalid_request' ? 'The body is not valid JSON.' : undefined));
        return;
      }
      await logError('internal_error', error, requestId);
      request.response = errorResponse(new AuthError('internal_error'));
    },
  };
}

/** 413 before parsing: counts the bytes of the body as sent (decoded when base64). */
function bodySizeGuard(): MiddlewareObj<HttpEvent, APIGatewayProxyResultV2, Error, Context> {
  return {
    before: (request) => {
      const { body, isBase64Encoded } = request.event;
      if (typeof body !== 'string') return;
      const bytes = Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8');
      if (bytes > MAX_BODY_BYTES) throw new AuthError('payload_too_large');
    },
  };
}
