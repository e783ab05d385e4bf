/**
 * The admin Lambda through the real AWS SDK (InvokeCommand against serverless-offline's Lambda
 * endpoint), its effects checked through the public routes only. SPEC "Administration".
 */
import { describe, expect, it } from 'vitest';
import { invokeAdmin } from './admin-client';
import { api, expectDenied, expectError, login, me, PASSWORD, refresh, register, registerAndLogin, uniqueEmail } from './client';

const ACTOR = 'support-tool@tests';

describe('admin Lambda (AWS SDK InvokeCommand)', () => {
  it('disableUser: the access token is denied on the next request, refresh answers invalid_token, login answers account_disabled after a correct password only; enableUser lets it in', async () => {
    const session = await registerAndLogin('admin-disable');
    expect((await me(session.accessToken)).status).toBe(200);

    const disabled = await invokeAdmin({ action: 'disableUser', actor: ACTOR, userId: session.user.id, reason: 'compromised' });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.functionError).toBeUndefined();
    expect(disabled.result.user).toMatchObject({ id: session.user.id, email: session.email, disabled: true, lastLoginAt: expect.any(String) });

    expectDenied(await me(session.accessToken));
    expectError(await refresh(session.refreshToken), 401, 'invalid_token');
    expectError(await api('POST', '/auth/login', { json: { email: session.email, password: 'wrong password' } }), 401, 'invalid_credentials');
    expectError(await api('POST', '/auth/login', { json: { email: session.email, password: PASSWORD } }), 403, 'account_disabled');

    const enabled = await invokeAdmin({ action: 'enableUser', actor: ACTOR, userId: session.user.id });
    expect(enabled.result.user.disabled).toBe(false);
    const back = await login(session.email);
    expect((await me(back.accessToken)).status).toBe(200);
  });

  it('getUser by id and email, listSessions, revokeSessions (the tokens are denied after), deleteUser (the email registers again)', async () => {
    const session = await registerAndLogin('admin-actions');
    const second = await login(session.email);
    const byId = await invokeAdmin({ action: 'getUser', actor: ACTOR, userId: session.user.id });
    expect(byId.result.user).toMatchObject({ id: session.user.id, email: session.email, emailVerified: false, disabled: false });
    const byEmail = await invokeAdmin({ action: 'getUser', actor: ACTOR, email: session.email.toUpperCase() });
    expect(byEmail.result.user.id).toBe(session.user.id);

    const listed = await invokeAdmin({ action: 'listSessions', actor: ACTOR, userId: session.user.id });
    expect(listed.result.sessions.map((s: { id: string }) => s.id).sort()).toEqual([session.sessionId, second.sessionId].sort());
    expect(await invokeAdmin({ action: 'revokeSessions', actor: ACTOR, userId: session.user.id })).toMatchObject({ result: { revoked: 2 } });
    expectDenied(await me(session.accessToken));
    expectDenied(await me(second.accessToken));

    const third = await login(session.email);
    expect((await invokeAdmin({ action: 'deleteUser', actor: ACTOR, userId: session.user.id })).result).toEqual({ deleted: true });
    expectDenied(await me(third.accessToken));
    expectError(await api('POST', '/auth/login', { json: { email: session.email, password: PASSWORD } }), 401, 'invalid_credentials');
    expect((await invokeAdmin({ action: 'getUser', actor: ACTOR, userId: session.user.id })).result).toEqual({ error: 'not_found', message: expect.any(String) });
    await register(session.email);
  });

  it('bad input answers {error, message} with the contract codes and never throws (no FunctionError)', async () => {
    const cases: [unknown, string][] = [
      [null, 'invalid_request'],
      [[1, 2], 'invalid_request'],
      [{ action: 'dropDatabase', actor: ACTOR }, 'invalid_request'],
      [{ action: 'getUser', userId: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'invalid_request'],
      [{ action: 'getUser', actor: '', userId: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'invalid_request'],
      [{ action: 'getUser', actor: ACTOR }, 'invalid_request'],
      [{ action: 'getUser', actor: ACTOR, email: 'not an email' }, 'invalid_request'],
      [{ action: 'disableUser', actor: ACTOR, userId: '../../etc' }, 'invalid_request'],
      [{ action: 'disableUser', actor: ACTOR, userId: 'AAAAAAAAAAAAAAAAAAAAAA', reason: 5 }, 'invalid_request'],
      [{ action: 'disableUser', actor: ACTOR, userId: 'AAAAAAAAAAAAAAAAAAAAAA' }, 'not_found'],
      [{ action: 'getUser', actor: ACTOR, email: uniqueEmail('nobody') }, 'not_found'],
    ];
    for (const [payload, code] of cases) {
      const answer = await invokeAdmin(payload);
      expect(answer.functionError, JSON.stringify(payload)).toBeUndefined();
      expect(answer.result, JSON.stringify(payload)).toEqual({ error: code, message: expect.any(String) });
      expect(JSON.stringify(answer.result)).not.toMatch(/at .*\.(ts|js):\d+/);
    }
  });
});

describe('GET /auth/security-events', () => {
  it('lists the caller’s own events newest first (login, failed login, disable by an administrator), with time, IP, user agent and device', async () => {
    const email = uniqueEmail('events');
    await register(email);
    const first = await login(email, PASSWORD, { deviceName: 'Laptop', userAgent: 'events-test UA' });
    expect((await api('POST', '/auth/login', { json: { email, password: 'wrong password' } })).status).toBe(401);
    const listed = await api('GET', '/auth/security-events', { token: first.accessToken });
    expect(listed.status).toBe(200);
    expect(listed.headers.get('cache-control')).toBe('no-store');
    expect(listed.body.events.map((event: { type: string }) => event.type)).toEqual(['login_failed', 'login_ok']);
    expect(listed.body.events[1]).toEqual({ type: 'login_ok', at: expect.any(String), ip: expect.any(String), userAgent: 'events-test UA', deviceName: 'Laptop', sessionId: first.sessionId });
    expect(listed.text).not.toContain(first.refreshToken);

    expectDenied(await api('GET', '/auth/security-events'), 401);
    await invokeAdmin({ action: 'disableUser', actor: ACTOR, userId: first.user.id });
    expectDenied(await api('GET', '/auth/security-events', { token: first.accessToken }));
    await invokeAdmin({ action: 'enableUser', actor: ACTOR, userId: first.user.id });
    const again = await login(email);
    const types = (await api('GET', '/auth/security-events', { token: again.accessToken })).body.events.map((event: { type: string }) => event.type);
    expect(types.slice(0, 3)).toEqual(['login_ok', 'account_enabled', 'account_disabled']);
  });
});
