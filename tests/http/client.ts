import { randomBytes } from 'node:crypto';
import { expect, inject } from 'vitest';

/**
 * A tiny client for the HTTP tests: every call is one real request to serverless-offline, as
 * a client would make it. Nothing here knows how the service works inside.
 */

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The raw body text ('' when empty). */
  text: string;
  /** The body parsed as JSON, or `undefined` when it is empty or not JSON. */
  body: any;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent with JSON.stringify and `Content-Type: application/json`. */
  json?: unknown;
  /** Sent as is (with `Content-Type: application/json` unless `headers` say otherwise). */
  raw?: string;
  headers?: Record<string, string>;
}

export async function api(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (options.json !== undefined || options.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.raw ?? JSON.stringify(options.json);
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  Object.assign(headers, options.headers);
  const response = await fetch(`${inject('apiUrl')}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** A fresh address per test, so tests never share a user or a per-account rate limit. */
export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

/** The contract's token response: the one declaration, the SDK's contract. */
export type { TokenResponse } from '../../client/src/contract';
import type { TokenResponse, User } from '../../client/src/contract';

export async function register(email: string, password = PASSWORD): Promise<User> {
  const response = await api('POST', '/auth/register', { json: { email, password } });
  expect(response.status, response.text).toBe(201);
  return response.body.user;
}

export async function login(
  email: string,
  password = PASSWORD,
  options: { deviceName?: string; userAgent?: string } = {},
): Promise<TokenResponse> {
  const response = await api('POST', '/auth/login', {
    json: { email, password, ...(options.deviceName === undefined ? {} : { device: { name: options.deviceName } }) },
    headers: options.userAgent === undefined ? {} : { 'user-agent': options.userAgent },
  });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** Registers a fresh user and logs it in once. */
export async function registerAndLogin(label = 'user'): Promise<TokenResponse & { email: string }> {
  const email = uniqueEmail(label);
  await register(email);
  return { ...(await login(email)), email };
}

export function me(token: string): Promise<ApiResponse> {
  return api('GET', '/auth/me', { token });
}

export function refresh(refreshToken: string): Promise<ApiResponse> {
  return api('POST', '/auth/refresh', { json: { refreshToken } });
}

/**
 * The authorizer refused the request: API Gateway's own answer (401 without a header, 403
 * for a refused token), never the handler's. A handler answer would carry the service's
 * `{error, message}` body with one of its codes, or the `user` of /auth/me.
 */
export function expectDenied(response: ApiResponse, status: 401 | 403 = 403): void {
  expect(response.status, response.text).toBe(status);
  expect(response.body?.user).toBeUndefined();
  expect(response.body?.session).toBeUndefined();
  expect(['invalid_token', 'token_reused', 'invalid_request', 'internal_error']).not.toContain(response.body?.error);
}

/** An error answer of the service: exactly `{error, message}`, with the given status and code. */
export function expectError(response: ApiResponse, status: number, code: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.body, response.text).toEqual({ error: code, message: expect.any(String) });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The payload of a JWT, decoded without verification (for reading claims in tests). */
export function decodeJwtPart(token: string, part: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[part] ?? '', 'base64url').toString('utf8'));
}
