import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ErrorCode } from '../../lib/errors';
import { ERROR_STATUS } from '../../lib/middleware/error-response';
import { CLOSED_REDIS_URL, baseEnv, newKeyPair } from './fixtures';
import { setProcessEnv } from './process-env';

type RegisterModule = typeof import('../../functions/register');
type HttpEvent = import('../../functions/http').HttpEvent;

interface Response {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const MAX_BODY_BYTES = 16_384;

const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'serverless-auth-test-register',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:serverless-auth-test-register',
  memoryLimitInMB: '256',
  awsRequestId: 'lambda-request-1',
  logGroupName: '/aws/lambda/serverless-auth-test-register',
  logStreamName: '2030/01/01/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

function registerEvent(body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }, isBase64Encoded = false): HttpEvent {
  return {
    version: '2.0',
    routeKey: 'POST /auth/register',
    rawPath: '/auth/register',
    rawQueryString: '',
    headers: { host: 'api.test', 'user-agent': 'vitest', ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123def4',
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method: 'POST', path: '/auth/register', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: 'apigw-request-1',
      routeKey: 'POST /auth/register',
      stage: '$default',
      time: '01/Jan/2030:00:00:00 +0000',
      timeEpoch: 1_893_456_000_000,
    },
    body,
    isBase64Encoded,
  } as HttpEvent;
}

let register: RegisterModule;
let restoreEnv: () => void;

async function send(body: string | undefined, headers?: Record<string, string>, isBase64Encoded?: boolean): Promise<Response> {
  return (await register.handler(registerEvent(body, headers, isBase64Encoded), lambdaContext)) as Response;
}

function header(response: Response, name: string): string | undefined {
  const key = Object.keys(response.headers ?? {}).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : response.headers[key];
}

/**
 * The contract's error shape: the status of `code`, a JSON body of exactly `{error, message}`
 * with no stack trace or source path in it, security headers and `no-store`.
 */
function expectError(response: Response, code: ErrorCode): { error: string; message: string } {
  expect(response.statusCode).toBe(ERROR_STATUS[code]);
  expect(header(response, 'content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as { error: string; message: string };
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(body.message).not.toBe('');
  expect(response.body).not.toMatch(/\bat .+:\d+:\d+|\.ts\b|\.js\b|node_modules|Error:|stack/i);
  expectStandardHeaders(response);
  return body;
}

function expectStandardHeaders(response: Response): void {
  expect(header(response, 'cache-control')).toBe('no-store');
  expect(header(response, 'x-content-type-options')).toBe('nosniff');
  expect(header(response, 'strict-transport-security')).toMatch(/max-age=\d+/);
  expect(header(response, 'x-frame-options')?.toLowerCase()).toBe('deny');
  // CORS is off unless CORS_ALLOWED_ORIGINS says otherwise.
  expect(header(response, 'access-control-allow-origin')).toBeUndefined();
}

/** A JSON body of exactly `bytes` UTF-8 bytes: a valid email and a `pad` field, no password. */
function jsonOfBytes(bytes: number): string {
  const empty = JSON.stringify({ email: 'alice@example.com', pad: '' });
  return JSON.stringify({ email: 'alice@example.com', pad: 'x'.repeat(bytes - Buffer.byteLength(empty)) });
}

beforeAll(async () => {
  const key = await newKeyPair('EdDSA');
  restoreEnv = setProcessEnv(
    baseEnv({ UPSTASH_REDIS_REST_URL: CLOSED_REDIS_URL, JWT_PRIVATE_KEY: JSON.stringify(key.privateJwk), POWERTOOLS_LOG_LEVEL: 'SILENT' }),
  );
  vi.resetModules();
  register = await import('../../functions/register');
});

afterAll(() => restoreEnv());

describe('HTTP stack (functions/http.ts, through POST /auth/register)', () => {
  describe('body size (checked first)', () => {
    it('answers 413 to a body over 16384 bytes, whatever its content type', async () => {
      const big = 'x'.repeat(MAX_BODY_BYTES + 1);
      expectError(await send(big, { 'content-type': 'text/plain' }), 'payload_too_large');
      expectError(await send(big, { 'content-type': 'application/json' }), 'payload_too_large');
      expectError(await send(big, {}), 'payload_too_large');
      expectError(await send(jsonOfBytes(MAX_BODY_BYTES + 1)), 'payload_too_large');
    });

    it('counts bytes, not characters', async () => {
      const body = 'é'.repeat(MAX_BODY_BYTES / 2 + 1); // 8193 characters, 16386 bytes
      expect(body.length).toBeLessThan(MAX_BODY_BYTES);
      expectError(await send(body, { 'content-type': 'application/json' }), 'payload_too_large');
    });

    it('counts the decoded bytes of a base64 body', async () => {
      const encoded = Buffer.from(jsonOfBytes(MAX_BODY_BYTES + 3)).toString('base64');
      expectError(await send(encoded, { 'content-type': 'application/json' }, true), 'payload_too_large');
    });

    it('lets a base64 body of exactly 16384 decoded bytes through to validation', async () => {
      const json = jsonOfBytes(MAX_BODY_BYTES);
      const encoded = Buffer.from(json).toString('base64'); // 16384 = 3 × 5461 + 1: two "=" of padding
      expect(Buffer.from(encoded, 'base64')).toHaveLength(MAX_BODY_BYTES);
      expect(expectError(await send(encoded, { 'content-type': 'application/json' }, true), 'invalid_request').message).toContain('password');
    });

    it('lets a body of exactly 16384 bytes through to validation', async () => {
      const body = jsonOfBytes(MAX_BODY_BYTES);
      expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
      expect(expectError(await send(body), 'invalid_request').message).toContain('password');
    });
  });

  describe('content type', () => {
    it.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['application/x-www-form-urlencoded', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['multipart/form-data', { 'content-type': 'multipart/form-data; boundary=x' }],
      ['no content type', {}],
    ])('answers 415 to %s', async (_name, headers) => {
      expectError(await send('{"email":"alice@example.com","password":"password123"}', headers), 'unsupported_media_type');
    });

    it('accepts application/json with a charset', async () => {
      const response = await send('{"email":"alice@example.com"}', { 'content-type': 'application/json; charset=utf-8' });
      expect(expectError(response, 'invalid_request').message).toContain('password');
    });
  });

  describe('JSON parsing', () => {
    it.each(['{"email":', '{email: "alice@example.com"}', "{'email':'a'}", 'not json', '', '{"email":"a@b.co",}'])(
      'answers 400 invalid_request to the malformed body %j',
      async (body) => {
        expectError(await send(body), 'invalid_request');
      },
    );

    it('answers 400 invalid_request to a missing body', async () => {
      expectError(await send(undefined), 'invalid_request');
    });
  });

  describe('field validation (400 naming the field)', () => {
    it('refuses an operator object for email, as in NoSQL injection', async () => {
      const body = expectError(await send('{"email":{"$ne":null},"password":"x"}'), 'invalid_request');
      expect(body.message).toContain('email');
    });

    it.each([
      ['an array for email', { email: ['alice@example.com'], password: 'password123' }, 'email'],
      ['a number for email', { email: 42, password: 'password123' }, 'email'],
      ['a missing email', { password: 'password123' }, 'email'],
      ['a null email', { email: null, password: 'password123' }, 'email'],
      ['an empty email', { email: '', password: 'password123' }, 'email'],
      ['an array for password', { email: 'alice@example.com', password: ['password123'] }, 'password'],
      ['a number for password', { email: 'alice@example.com', password: 12345678 }, 'password'],
      ['an object for password', { email: 'alice@example.com', password: { $gt: '' } }, 'password'],
      ['a boolean for password', { email: 'alice@example.com', password: true }, 'password'],
      ['a missing password', { email: 'alice@example.com' }, 'password'],
    ])('refuses %s', async (_name, input, field) => {
      expect(expectError(await send(JSON.stringify(input)), 'invalid_request').message).toContain(field);
    });

    it.each([['[]'], ['[{"email":"alice@example.com","password":"password123"}]'], ['42'], ['"a string"'], ['null'], ['true']])(
      'refuses the non-object body %s',
      async (body) => {
        expectError(await send(body), 'invalid_request');
      },
    );
  });

  describe('prototype pollution', () => {
    it('refuses a __proto__ key and leaves Object.prototype alone', async () => {
      const bodies = [
        '{"__proto__":{"email":"alice@example.com","password":"password123"}}',
        '{"email":"alice@example.com","password":"password123","__proto__":{"polluted":true}}',
        '{"email":"alice@example.com","password":"password123","nested":{"__proto__":{"polluted":true}}}',
        '{"email":"alice@example.com","password":"password123","constructor":{"prototype":{"polluted":true}}}',
      ];
      for (const body of bodies) expectError(await send(body), 'invalid_request');
      const probe: Record<string, unknown> = {};
      expect(probe.polluted).toBeUndefined();
      expect(probe.email).toBeUndefined();
      expect(probe.password).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });
  });

  describe('store faults', () => {
    it('answers 503 service_unavailable with Retry-After to a valid request while Redis is unreachable', async () => {
      const response = await send('{"email":"alice@example.com","password":"correct horse battery"}');
      expectError(response, 'service_unavailable');
      expect(Number(header(response, 'retry-after'))).toBeGreaterThanOrEqual(1);
    });
  });
});
