import { describe, expect, it } from 'vitest';
import { api, expectDenied, registerAndLogin } from './client';

/** Another team's function behind the authorizer (serverless.yml: example-protected). */
describe('GET /example/whoami behind the authorizer', () => {
  it('receives the principal the authorizer allowed', async () => {
    const tokens = await registerAndLogin('whoami');
    const response = await api('GET', '/example/whoami', { token: tokens.accessToken });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ userId: tokens.user.id, sessionId: tokens.sessionId });
  });

  it('never runs for a missing, refused or revoked token', async () => {
    const tokens = await registerAndLogin('whoami');
    expectDenied(await api('GET', '/example/whoami'), 401);
    expectDenied(await api('GET', '/example/whoami', { token: `${tokens.accessToken}x` }));
    expect((await api('POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204);
    expectDenied(await api('GET', '/example/whoami', { token: tokens.accessToken }));
  });
});
