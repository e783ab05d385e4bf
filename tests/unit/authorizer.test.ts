import { randomBytes } from 'node:crypto';
import { UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../lib/config';
import { signAccessToken } from '../../lib/tokens/access-token';
import { loadKeyRing, type KeyRing } from '../../lib/tokens/key-ring';
import { deriveRefreshTokenKey, formatRefreshToken } from '../../lib/tokens/refresh-token';
import { AUDIENCE, SESSION_ID, TOKEN_ID, USER_ID, baseEnv, newKeyPair, type Env } from './fixtures';
import { startFakeStore, type FakeStore } from './fake-store';
import { CLOSED_REDIS_URL } from './fixtures';
import { setProcessEnv } from './process-env';

type AuthorizerModule = typeof import('../../functions/authorizer');
type AuthorizerEvent = Parameters<AuthorizerModule['handler']>[0];

const REGION_ACCOUNT = 'arn:aws:execute-api:eu-west-1:123456789012';
const API_ID = 'abc123def4';
const REST_METHOD_ARN = `${REGION_ACCOUNT}:${API_ID}/prod/GET/auth/me`;
const REST_STAGE_WIDE = `${REGION_ACCOUNT}:${API_ID}/prod/*`;

let env: Env;
let config: Config;
let ring: KeyRing;

/** A token the service itself would issue now (the handler reads the system clock). */
async function issue(overrides: { nowMs?: number; config?: Config; ring?: KeyRing } = {}): Promise<string> {
  const nowMs = overrides.nowMs ?? Date.now();
  const { token } = await signAccessToken(overrides.ring ?? ring, overrides.config ?? config, {
    userId: USER_ID,
    sessionId: SESSION_ID,
    tokenId: TOKEN_ID,
    nowMs,
    sessionExpiresAtMs: nowMs + 3_600_000,
    aal: 1,
    amr: ['pwd'],
  });
  return token;
}

function v2Event(headers: Record<string, string> | null): AuthorizerEvent {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `${REGION_ACCOUNT}:${API_ID}/$default/GET/auth/me`,
    identitySource: headers?.authorization ? [headers.authorization] : [],
    routeKey: 'GET /auth/me',
    rawPath: '/auth/me',
    rawQueryString: '',
    cookies: [],
    headers,
    queryStringParameters: {},
    requestContext: {
      accountId: '123456789012',
      apiId: API_ID,
      domainName: `${API_ID}.execute-api.eu-west-1.amazonaws.com`,
      domainPrefix: API_ID,
      http: { method: 'GET', path: '/auth/me', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey: 'GET /auth/me',
      stage: '$default',
      time: '01/Jan/2030:00:00:00 +0000',
      timeEpoch: 1_893_456_000_000,
    },
    pathParameters: {},
    stageVariables: {},
  } as unknown as AuthorizerEvent;
}

function v1RequestEvent(headers: Record<string, string> | null, methodArn = REST_METHOD_ARN): AuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn,
    resource: '/auth/me',
    path: '/auth/me',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: headers ? Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])) : null,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: API_ID,
      httpMethod: 'GET',
      path: '/prod/auth/me',
      stage: 'prod',
      requestId: 'req-1',
      resourceId: 'res1',
      resourcePath: '/auth/me',
      identity: { sourceIp: '203.0.113.7', userAgent: 'vitest' },
    },
  } as unknown as AuthorizerEvent;
}

function v1TokenEvent(authorizationToken: string, methodArn = REST_METHOD_ARN): AuthorizerEvent {
  return { type: 'TOKEN', methodArn, authorizationToken } as AuthorizerEvent;
}

interface Policy {
  principalId: string;
  policyDocument: { Version: string; Statement: { Action: string; Effect: string; Resource: string }[] };
  context?: Record<string, unknown>;
}

/** A v1 answer that allows nothing: only Deny statements and no principal context. */
function expectDenyPolicy(result: unknown): Policy {
  const policy = result as Policy;
  expect(policy.policyDocument.Statement.length).toBeGreaterThan(0);
  for (const statement of policy.policyDocument.Statement) {
    expect(statement.Effect).toBe('Deny');
    expect(statement.Action).toBe('execute-api:Invoke');
  }
  expect(policy.context).toBeUndefined();
  expect(policy.principalId).not.toBe(USER_ID);
  return policy;
}

async function importAuthorizer(overrides: Env): Promise<{ authorizer: AuthorizerModule; restore: () => void }> {
  const restore = setProcessEnv({ ...env, ...overrides });
  vi.resetModules();
  return { authorizer: await import('../../functions/authorizer'), restore };
}

/** The store's view of a live session of USER_ID (by field name, as HMGET asks for them). */
function liveSession(fields: Record<string, string | null> = {}) {
  return (command: unknown[]): unknown => {
    if (String(command[0]).toLowerCase() !== 'hmget') return null;
    const values: Record<string, string | null> = {
      uid: USER_ID,
      email: 'alice@example.com',
      exp: String(Date.now() + 3_600_000),
      ...fields,
    };
    return command.slice(2).map((field) => values[String(field)] ?? null);
  };
}

beforeAll(async () => {
  const key = await newKeyPair('EdDSA');
  env = baseEnv({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: JSON.stringify(key.privateJwk), JWT_PUBLIC_KEY: JSON.stringify(key.publicJwk), POWERTOOLS_LOG_LEVEL: 'SILENT' });
  config = loadConfig(env);
  ring = await loadKeyRing(config);
});

describe('authorizer', () => {
  describe('with a store that would confirm the session', () => {
    let store: FakeStore;
    let authorizer: AuthorizerModule;
    let restore: () => void;
    let valid: string;

    beforeAll(async () => {
      store = await startFakeStore();
      ({ authorizer, restore } = await importAuthorizer({ UPSTASH_REDIS_REST_URL: store.url }));
      valid = await issue();
    });
    afterAll(async () => {
      restore();
      await store.close();
    });
    beforeEach(() => {
      store.clear();
      store.mode = 'answer';
      store.reply = liveSession();
    });

    describe('apiWideArn', () => {
      it.each([
        [REST_METHOD_ARN, REST_STAGE_WIDE],
        [`${REGION_ACCOUNT}:${API_ID}/prod/POST/auth/sessions/abc`, REST_STAGE_WIDE],
        [`${REGION_ACCOUNT}:${API_ID}/prod/GET/`, REST_STAGE_WIDE],
        [`${REGION_ACCOUNT}:${API_ID}/prod/*/*`, REST_STAGE_WIDE],
        [`${REGION_ACCOUNT}:${API_ID}/$default/DELETE/auth/sessions/x`, `${REGION_ACCOUNT}:${API_ID}/$default/*`],
        [`arn:aws-cn:execute-api:cn-north-1:123456789012:${API_ID}/v1/GET/a`, `arn:aws-cn:execute-api:cn-north-1:123456789012:${API_ID}/v1/*`],
      ])('widens %s to every method and path of its stage', (methodArn, expected) => {
        expect(authorizer.apiWideArn(methodArn)).toBe(expected);
      });

      it('leaves something that is not a method ARN as it is', () => {
        expect(authorizer.apiWideArn('')).toBe('');
        expect(authorizer.apiWideArn('not-an-arn')).toBe('not-an-arn');
      });
    });

    describe('a valid token of a live session', () => {
      it('v2 REQUEST → isAuthorized true with {userId, sessionId}, after one read-only store request', async () => {
        expect(await authorizer.handler(v2Event({ authorization: `Bearer ${valid}` }))).toEqual({
          isAuthorized: true,
          context: { userId: USER_ID, sessionId: SESSION_ID, aal: 1, amr: 'pwd' },
        });
        expect(store.commands).toHaveLength(1);
        expect(String(store.commands[0]?.[0]).toLowerCase()).toBe('hmget');
        expect(String(store.commands[0]?.[1])).toContain(SESSION_ID);
      });

      it('accepts more than one space after the scheme (RFC 6750 §2.1: 1*SP)', async () => {
        for (const header of [`Bearer  ${valid}`, `Bearer     ${valid}`]) {
          expect(await authorizer.handler(v2Event({ authorization: header }))).toEqual({
            isAuthorized: true,
            context: { userId: USER_ID, sessionId: SESSION_ID, aal: 1, amr: 'pwd' },
          });
        }
      });

      it('accepts the scheme in any case (RFC 7235 §2.1: auth schemes are case-insensitive)', async () => {
        for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
          expect(await authorizer.handler(v2Event({ authorization: `${scheme} ${valid}` }))).toMatchObject({ isAuthorized: true });
        }
      });

      it('v1 REQUEST (any header casing) → Allow on the whole stage, principal = user, context {userId, sessionId}', async () => {
        for (const name of ['Authorization', 'authorization', 'AUTHORIZATION']) {
          store.clear();
          expect(await authorizer.handler(v1RequestEvent({ [name]: `Bearer ${valid}` }))).toEqual({
            principalId: USER_ID,
            policyDocument: {
              Version: '2012-10-17',
              Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: REST_STAGE_WIDE }],
            },
            context: { userId: USER_ID, sessionId: SESSION_ID, aal: 1, amr: 'pwd' },
          });
          expect(store.commands).toHaveLength(1);
        }
      });

      it('v1 TOKEN → Allow on the whole stage, principal = user', async () => {
        const result = (await authorizer.handler(v1TokenEvent(`Bearer ${valid}`))) as Policy;
        expect(result.principalId).toBe(USER_ID);
        expect(result.context).toEqual({ userId: USER_ID, sessionId: SESSION_ID, aal: 1, amr: 'pwd' });
        expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: REST_STAGE_WIDE }]);
        expect(store.commands).toHaveLength(1);
      });
    });

    describe('a valid token whose session is not live', () => {
      it.each([
        ['unknown (revoked or never existed)', { uid: null, email: null, exp: null }],
        ['of another user', { uid: 'YW5vdGhlci11c2VyLTAwMDAx' }],
        ['expired, though its key is still there', { exp: '1000' }],
      ])('denies a session that is %s', async (_name, fields) => {
        store.reply = liveSession(fields);
        expect(await authorizer.handler(v2Event({ authorization: `Bearer ${valid}` }))).toEqual({ isAuthorized: false, context: {} });
        expectDenyPolicy(await authorizer.handler(v1RequestEvent({ Authorization: `Bearer ${valid}` })));
        expectDenyPolicy(await authorizer.handler(v1TokenEvent(`Bearer ${valid}`)));
        expect(store.commands).toHaveLength(3);
      });
    });

    describe('malformed Authorization headers: denied without touching the store', () => {
      const malformed: [string, (token: string) => string][] = [
        ['the empty string', () => ''],
        ['"Bearer" alone', () => 'Bearer'],
        ['"Bearer " with no token', () => 'Bearer '],
        ['a leading space', (token) => ` Bearer ${token}`],
        ['a trailing space', (token) => `Bearer ${token} `],
        ['a tab for the space', (token) => `Bearer\t${token}`],
        ['a trailing newline', (token) => `Bearer ${token}\n`],
        ['no scheme at all', (token) => token],
        ['the Basic scheme', () => 'Basic dXNlcjpwYXNzd29yZA=='],
        ['another scheme with the token', (token) => `Token ${token}`],
        ['two bearer tokens', (token) => `Bearer ${token}, Bearer ${token}`],
      ];

      it.each(malformed)('v2 REQUEST: %s → isAuthorized false', async (_name, header) => {
        expect(await authorizer.handler(v2Event({ authorization: header(valid) }))).toEqual({ isAuthorized: false, context: {} });
        expect(store.contacts).toBe(0);
      });

      it.each(malformed)('v1 REQUEST: %s → Deny', async (_name, header) => {
        expectDenyPolicy(await authorizer.handler(v1RequestEvent({ Authorization: header(valid) })));
        expect(store.contacts).toBe(0);
      });

      it.each(malformed)('v1 TOKEN: %s → Deny', async (_name, header) => {
        expectDenyPolicy(await authorizer.handler(v1TokenEvent(header(valid))));
        expect(store.contacts).toBe(0);
      });

      it('denies an event with no Authorization header, or no headers at all', async () => {
        expect(await authorizer.handler(v2Event({ 'user-agent': 'vitest' }))).toEqual({ isAuthorized: false, context: {} });
        expect(await authorizer.handler(v2Event(null))).toEqual({ isAuthorized: false, context: {} });
        expectDenyPolicy(await authorizer.handler(v1RequestEvent({ Host: 'api.test' })));
        expectDenyPolicy(await authorizer.handler(v1RequestEvent(null)));
        expectDenyPolicy(await authorizer.handler({ type: 'TOKEN', methodArn: REST_METHOD_ARN } as unknown as AuthorizerEvent));
        expect(store.contacts).toBe(0);
      });

      it('does not take the token from another header', async () => {
        const result = await authorizer.handler(v2Event({ 'x-authorization': `Bearer ${valid}`, authorisation: `Bearer ${valid}` }));
        expect(result).toEqual({ isAuthorized: false, context: {} });
        expect(store.contacts).toBe(0);
      });
    });

    describe('bad tokens: denied without touching the store', () => {
      const badTokens: [string, () => Promise<string>][] = [
        ['garbage', async () => 'garbage'],
        ['a JWT-shaped string', async () => 'eyJhbGciOiJFZERTQSJ9.e30.c2ln'],
        ['an alg none token', async () => new UnsecuredJWT({ sub: USER_ID, sid: SESSION_ID }).encode()],
        ['a refresh token', async () => formatRefreshToken(deriveRefreshTokenKey(randomBytes(32)), { userId: 'dXNlci0wMDAwMDAwMDAwMDE', sessionId: SESSION_ID, generation: 0 })],
        ['an expired token', async () => issue({ nowMs: Date.now() - 3_600_000 })],
        ['a token for another audience', async () => issue({ config: loadConfig({ ...env, JWT_AUDIENCE: `${AUDIENCE}/other` }) })],
        [
          'a token signed by a key the ring does not hold',
          async () => {
            const stranger = await newKeyPair('EdDSA');
            const strangerConfig = loadConfig({ ...env, JWT_PRIVATE_KEY: JSON.stringify(stranger.privateJwk) });
            return issue({ config: strangerConfig, ring: await loadKeyRing(strangerConfig) });
          },
        ],
        [
          'a tampered token',
          async () => {
            const token = await issue();
            return `${token.slice(0, -10)}${token.slice(-10).split('').reverse().join('')}`;
          },
        ],
      ];

      it.each(badTokens)('v2 REQUEST: %s → isAuthorized false', async (_name, make) => {
        const token = await make();
        expect(await authorizer.handler(v2Event({ authorization: `Bearer ${token}` }))).toEqual({ isAuthorized: false, context: {} });
        expect(store.contacts).toBe(0);
      });

      it.each(badTokens)('v1 REQUEST: %s → Deny', async (_name, make) => {
        const token = await make();
        expectDenyPolicy(await authorizer.handler(v1RequestEvent({ Authorization: `Bearer ${token}` })));
        expect(store.contacts).toBe(0);
      });

      it.each(badTokens)('v1 TOKEN: %s → Deny', async (_name, make) => {
        const token = await make();
        expectDenyPolicy(await authorizer.handler(v1TokenEvent(`Bearer ${token}`)));
        expect(store.contacts).toBe(0);
      });
    });

    describe('REST API Deny policies', () => {
      it('cover every method and path of the stage (apiId/stage/*) on a REQUEST event', async () => {
        const policy = expectDenyPolicy(await authorizer.handler(v1RequestEvent({ Authorization: 'Bearer garbage' })));
        expect(policy.policyDocument).toEqual({
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: REST_STAGE_WIDE }],
        });
      });

      it('cover every method and path of the stage (apiId/stage/*) on a TOKEN event', async () => {
        const methodArn = `${REGION_ACCOUNT}:${API_ID}/prod/DELETE/auth/sessions/abc`;
        const policy = expectDenyPolicy(await authorizer.handler(v1TokenEvent('Bearer garbage', methodArn)));
        expect(policy.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: REST_STAGE_WIDE }]);
      });
    });

    describe('store faults: fails closed within 3 s', () => {
      it.each(['reset', 'hang'] as const)('denies a valid token when the store connection is %s, on every event type', async (mode) => {
        store.mode = mode;
        const events = [
          v2Event({ authorization: `Bearer ${valid}` }),
          v1RequestEvent({ Authorization: `Bearer ${valid}` }),
          v1TokenEvent(`Bearer ${valid}`),
        ];
        // Concurrently, so a hung store costs one request deadline, not three.
        const decisions = await Promise.all(
          events.map(async (event) => {
            const started = performance.now();
            const result = await authorizer.handler(event);
            return { result, elapsedMs: performance.now() - started };
          }),
        );
        for (const { result, elapsedMs } of decisions) {
          expect(elapsedMs).toBeLessThan(3_000);
          if ('isAuthorized' in result) expect(result).toEqual({ isAuthorized: false, context: {} });
          else expectDenyPolicy(result);
        }
        expect(store.contacts).toBeGreaterThanOrEqual(events.length);
      });
    });
  });

  describe('least privilege: only Redis and the public keys', () => {
    let store: FakeStore;
    beforeAll(async () => {
      store = await startFakeStore();
      store.mode = 'answer';
      store.reply = liveSession();
    });
    afterAll(() => store.close());

    it('allows a valid token with no private key and no refresh-token secret in its environment', async () => {
      const { authorizer, restore } = await importAuthorizer({ UPSTASH_REDIS_REST_URL: store.url, JWT_PRIVATE_KEY: undefined, AUTH_SECRET: undefined });
      try {
        expect(await authorizer.handler(v2Event({ authorization: `Bearer ${await issue()}` }))).toMatchObject({ isAuthorized: true });
      } finally {
        restore();
      }
    });

    it('refuses to start (and so denies) when JWT_PUBLIC_KEY holds a private key', async () => {
      const { authorizer, restore } = await importAuthorizer({ UPSTASH_REDIS_REST_URL: store.url, JWT_PUBLIC_KEY: env.JWT_PRIVATE_KEY });
      try {
        expect(await authorizer.handler(v2Event({ authorization: `Bearer ${await issue()}` }))).toEqual({ isAuthorized: false, context: {} });
      } finally {
        restore();
      }
    });
  });

  describe('with Redis at a closed port', () => {
    let authorizer: AuthorizerModule;
    let restore: () => void;
    let valid: string;

    beforeAll(async () => {
      ({ authorizer, restore } = await importAuthorizer({ UPSTASH_REDIS_REST_URL: CLOSED_REDIS_URL }));
      valid = await issue();
    });
    afterAll(() => restore());

    it('denies a valid token (fail closed) within 3 s, on every event type, without throwing', async () => {
      for (const event of [
        v2Event({ authorization: `Bearer ${valid}` }),
        v1RequestEvent({ Authorization: `Bearer ${valid}` }),
        v1TokenEvent(`Bearer ${valid}`),
      ]) {
        const started = performance.now();
        const result = await authorizer.handler(event);
        expect(performance.now() - started).toBeLessThan(3_000);
        if ('isAuthorized' in result) expect(result).toEqual({ isAuthorized: false, context: {} });
        else expectDenyPolicy(result);
      }
    });

    it('emits a store_fault security event for the denied decision, as the HTTP functions do', async () => {
      const { depsIfReady } = await import('../../functions/cold-start');
      const events = vi.spyOn((await depsIfReady())!.logger, 'event');
      await authorizer.handler(v2Event({ authorization: `Bearer ${valid}` }));
      expect(events).toHaveBeenCalledWith('store_fault', expect.objectContaining({ requestId: expect.any(String) }), { outcome: 'failure' });
      events.mockRestore();
    });

    it('denies a malformed header just the same', async () => {
      expect(await authorizer.handler(v2Event({ authorization: `Bearer\t${valid}` }))).toEqual({ isAuthorized: false, context: {} });
      expectDenyPolicy(await authorizer.handler(v1TokenEvent('Bearer garbage')));
    });
  });
});
