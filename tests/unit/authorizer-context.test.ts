import { describe, expect, it } from 'vitest';
import { readAuthorizerContext } from '../../lib/authorizer-context';
import { SESSION_ID, USER_ID } from './fixtures';

type Event = Parameters<typeof readAuthorizerContext>[0];
const read = (event: unknown) => readAuthorizerContext(event as Event);

describe('readAuthorizerContext', () => {
  it('reads an HTTP API (payload 2.0) event: requestContext.authorizer.lambda', () => {
    expect(read({ requestContext: { authorizer: { lambda: { userId: USER_ID, sessionId: SESSION_ID, aal: 2, amr: 'pwd,otp' } } } })).toEqual({
      userId: USER_ID,
      sessionId: SESSION_ID,
      aal: 2,
      amr: ['pwd', 'otp'],
    });
  });

  it('reads a REST API (v1) event: requestContext.authorizer', () => {
    expect(
      read({ requestContext: { authorizer: { principalId: USER_ID, userId: USER_ID, sessionId: SESSION_ID, aal: '2', amr: 'pwd,otp', integrationLatency: 12 } } }),
    ).toEqual({ userId: USER_ID, sessionId: SESSION_ID, aal: 2, amr: ['pwd', 'otp'] });
  });

  it('returns only userId, sessionId, aal and amr, nothing else of the context (aal 1, amr pwd when absent)', () => {
    const principal = read({ requestContext: { authorizer: { lambda: { userId: USER_ID, sessionId: SESSION_ID, admin: true } } } });
    expect(Object.keys(principal ?? {}).sort()).toEqual(['aal', 'amr', 'sessionId', 'userId']);
    expect(principal).toMatchObject({ aal: 1, amr: ['pwd'] });
  });

  it.each([
    ['no requestContext', {}],
    ['a null requestContext', { requestContext: null }],
    ['no authorizer', { requestContext: {} }],
    ['a null authorizer', { requestContext: { authorizer: null } }],
    ['an empty lambda context', { requestContext: { authorizer: { lambda: {} } } }],
    ['a null lambda context', { requestContext: { authorizer: { lambda: null } } }],
    ['an empty userId', { requestContext: { authorizer: { lambda: { userId: '', sessionId: SESSION_ID } } } }],
    ['an empty sessionId', { requestContext: { authorizer: { userId: USER_ID, sessionId: '' } } }],
    ['a missing sessionId', { requestContext: { authorizer: { lambda: { userId: USER_ID } } } }],
    ['a missing userId', { requestContext: { authorizer: { sessionId: SESSION_ID } } }],
    ['a numeric userId', { requestContext: { authorizer: { lambda: { userId: 42, sessionId: SESSION_ID } } } }],
    ['an object sessionId', { requestContext: { authorizer: { userId: USER_ID, sessionId: { id: SESSION_ID } } } }],
    ['an array userId', { requestContext: { authorizer: { lambda: { userId: [USER_ID], sessionId: SESSION_ID } } } }],
    ['a JWT authorizer context instead', { requestContext: { authorizer: { jwt: { claims: { sub: USER_ID, sid: SESSION_ID } } } } }],
    ['a principal only in the v1 place while a v2 lambda context is present', {
      requestContext: { authorizer: { lambda: { userId: USER_ID }, userId: USER_ID, sessionId: SESSION_ID } },
    }],
  ])('returns null for %s', (_name, event) => {
    expect(read(event)).toBeNull();
  });
});
