import { describe, expect, it } from 'vitest';
import { stepAt, totpCode } from '../support/totp';
import { api, expectError, me, PASSWORD, registerAndLogin } from './client';

/**
 * TOTP through the HTTP stack, with codes the test computes from the enrolled secret (RFC 6238
 * written out in tests/support/totp.ts, not the service's code): skew of one step either way,
 * replay, a wrong-code flood, the cookie login finished by the code step, sudo mode.
 */
async function withTotp(label: string) {
  const user = await registerAndLogin(label);
  const enrolled = await api('POST', '/auth/mfa/totp/enroll', { token: user.accessToken });
  expect(enrolled.status, enrolled.text).toBe(200);
  const secret = enrolled.body.secret as string;
  const confirmed = await api('POST', '/auth/mfa/totp/confirm', { token: user.accessToken, json: { code: totpCode(secret, stepAt(Date.now()) - 1) } });
  expect(confirmed.status, confirmed.text).toBe(200);
  return { ...user, secret, recoveryCodes: confirmed.body.recoveryCodes as string[] };
}

const challenge = async (email: string, transport: 'body' | 'cookie' = 'body') => {
  const response = await api('POST', '/auth/login', { json: { email, password: PASSWORD, transport }, headers: { origin: 'https://app.example.test' } });
  expect(response.status, response.text).toBe(200);
  expect(response.body).toMatchObject({ mfaRequired: true, expiresIn: 300 });
  expect(response.body).not.toHaveProperty('accessToken');
  expect(response.headers.getSetCookie()).toEqual([]);
  return response.body.mfaToken as string;
};
const verify = (mfaToken: string, code: string) => api('POST', '/auth/mfa/verify', { json: { mfaToken, code } });

describe('TOTP over HTTP', () => {
  it('accepts the previous step’s code and the next one’s (skew), not two steps away; a code once only', async () => {
    const user = await withTotp('skew');
    const now = stepAt(Date.now());
    expectError(await verify(await challenge(user.email), totpCode(user.secret, now - 3)), 401, 'invalid_code');
    expectError(await verify(await challenge(user.email), totpCode(user.secret, now + 3)), 401, 'invalid_code');
    // The confirm used step now−1: the same code again is a replay.
    expectError(await verify(await challenge(user.email), totpCode(user.secret, now - 1)), 401, 'invalid_code');
    const ok = await verify(await challenge(user.email), totpCode(user.secret, now));
    expect(ok.status, ok.text).toBe(200);
    expect((await me(ok.body.accessToken)).body.session).toMatchObject({ aal: 2, amr: ['pwd', 'otp'] });
    expectError(await verify(await challenge(user.email), totpCode(user.secret, now)), 401, 'invalid_code');
    const next = await verify(await challenge(user.email), totpCode(user.secret, now + 1));
    expect(next.status, next.text).toBe(200);
  });

  it('two concurrent verifies with one code: exactly one succeeds', async () => {
    const user = await withTotp('race');
    const [a, b] = [await challenge(user.email), await challenge(user.email)];
    const code = totpCode(user.secret, stepAt(Date.now()));
    const statuses = (await Promise.all([verify(a, code), verify(b, code)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401]);
  });

  it('a wrong-code flood: 5 end an MFA token, and wrong codes across fresh logins hit the per-user limit (429)', async () => {
    const user = await withTotp('flood');
    const token = await challenge(user.email);
    for (let i = 0; i < 5; i++) expectError(await verify(token, '000000'), 401, 'invalid_code');
    expectError(await verify(token, totpCode(user.secret, stepAt(Date.now()))), 401, 'invalid_token');
    // The stack allows 10 wrong codes per user per 15 minutes (RATE_LIMIT_MFA_PER_USER).
    let limited;
    for (let i = 0; i < 10 && !limited; i++) {
      const response = await verify(await challenge(user.email), '000000');
      if (response.status === 429) limited = response;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Even the right code is refused while limited.
    expectError(await verify(await challenge(user.email), totpCode(user.secret, stepAt(Date.now()))), 429, 'rate_limited');
  });

  it('a cookie login gets its refresh cookie from the code step', async () => {
    const user = await withTotp('cookie');
    const done = await verify(await challenge(user.email, 'cookie'), totpCode(user.secret, stepAt(Date.now())));
    expect(done.status, done.text).toBe(200);
    expect(done.body).not.toHaveProperty('refreshToken');
    expect(done.headers.getSetCookie().some((cookie) => cookie.startsWith('__Secure-refresh-token='))).toBe(true);
    // A step-up of that session answers the same way: the refresh token never in a body.
    const stepped = await api('POST', '/auth/mfa/step-up', { token: done.body.accessToken, json: { recoveryCode: user.recoveryCodes[0] } });
    expect(stepped.status, stepped.text).toBe(200);
    expect(stepped.body).not.toHaveProperty('refreshToken');
    expect(stepped.headers.getSetCookie().some((cookie) => cookie.startsWith('__Secure-refresh-token='))).toBe(true);
  });

  it('new recovery codes kill the old ones; a new one steps a session up', async () => {
    const user = await withTotp('codes');
    const login = await verify(await challenge(user.email), totpCode(user.secret, stepAt(Date.now())));
    const token = login.body.accessToken as string;
    const fresh = await api('POST', '/auth/mfa/recovery-codes', { token });
    expect(fresh.status, fresh.text).toBe(200);
    expectError(await api('POST', '/auth/mfa/step-up', { token, json: { recoveryCode: user.recoveryCodes[0] } }), 401, 'invalid_code');
    const stepped = await api('POST', '/auth/mfa/step-up', { token, json: { recoveryCode: fresh.body.recoveryCodes[0] } });
    expect(stepped.status, stepped.text).toBe(200);
    expect(stepped.body.sessionId).toBe(login.body.sessionId);
    expect((await me(stepped.body.accessToken)).body.session).toMatchObject({ aal: 2, amr: ['pwd', 'mfa'] });
  });
});
