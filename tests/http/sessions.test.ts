import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import type { Session } from '../../client/src/contract';
import { api, expectDenied, expectError, login, me, PASSWORD, refresh, register, sleep, uniqueEmail, type ApiResponse, type TokenResponse } from './client';

/** HTTP_TEST_ENV's MAX_SESSIONS_PER_USER. */
const MAX_SESSIONS = 3;

const listSessions = (token: string, query = '') => api('GET', `/auth/sessions${query}`, { token });
const deleteSession = (token: string, id: string) => api('DELETE', `/auth/sessions/${encodeURIComponent(id)}`, { token });

/** One user logged in on two devices, the laptop first. */
async function twoDevices(label: string) {
  const email = uniqueEmail(label);
  const user = await register(email);
  const laptop = await login(email, undefined, { deviceName: 'Laptop', userAgent: 'Mozilla/5.0 (laptop test)' });
  await sleep(15); // distinct creation times, so "newest first" has one answer
  const phone = await login(email, undefined, { deviceName: 'Phone', userAgent: 'Mozilla/5.0 (phone test)' });
  return { email, user, laptop, phone };
}

async function expectAlive(session: TokenResponse): Promise<void> {
  const response = await me(session.accessToken);
  expect(response.status, response.text).toBe(200);
}

/** The session is gone: its access token is denied and its refresh token no longer refreshes. */
async function expectRevoked(session: TokenResponse): Promise<void> {
  expectDenied(await me(session.accessToken));
  const response = await refresh(session.refreshToken);
  expect(response.status, response.text).toBe(401);
  expect(['invalid_token', 'token_reused']).toContain(response.body?.error);
}

const isIso = (value: string) => typeof value === 'string' && new Date(value).toISOString() === value;

describe('sessions', () => {
  it('POST /auth/logout-all from one device revokes every session of the user, and no one else\'s', async () => {
    const { laptop, phone } = await twoDevices('logout-all');
    const stranger = await twoDevices('logout-all-stranger');

    const response = await api('POST', '/auth/logout-all', { token: phone.accessToken });
    expect(response.status, response.text).toBe(204);
    expect(response.text).toBe('');

    await expectRevoked(laptop);
    await expectRevoked(phone);
    expectDenied(await api('POST', '/auth/logout-all', { token: phone.accessToken }));
    await expectAlive(stranger.laptop);
    await expectAlive(stranger.phone);
  });

  it('GET /auth/sessions lists the caller\'s sessions, newest first, current marked, no secrets', async () => {
    const { user, laptop, phone } = await twoDevices('list');
    const response = await listSessions(laptop.accessToken);
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('cache-control')).toContain('no-store');
    expect(Object.keys(response.body)).toEqual(['sessions']);
    const sessions = response.body.sessions as Session[];

    expect(sessions.map((session) => session.id)).toEqual([phone.sessionId, laptop.sessionId]);
    expect(sessions.map((session) => session.current)).toEqual([false, true]);
    for (const session of sessions) {
      expect(Object.keys(session).sort()).toEqual(['createdAt', 'current', 'device', 'expiresAt', 'id', 'lastUsedAt']);
      expect(Object.keys(session.device).sort()).toEqual(['ip', 'name', 'userAgent']);
      for (const time of [session.createdAt, session.lastUsedAt, session.expiresAt]) expect(isIso(time), time).toBe(true);
      expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.now());
      expect(Date.parse(session.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(session.createdAt));
      expect(session.device.ip).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    }
    expect(Date.parse(sessions[0]!.createdAt)).toBeGreaterThan(Date.parse(sessions[1]!.createdAt));
    expect(sessions[0]!.device).toMatchObject({ name: 'Phone', userAgent: 'Mozilla/5.0 (phone test)' });
    expect(sessions[1]!.device).toMatchObject({ name: 'Laptop', userAgent: 'Mozilla/5.0 (laptop test)' });

    // Seen from the phone, only `current` moves.
    const fromPhone = (await listSessions(phone.accessToken)).body.sessions as Session[];
    expect(fromPhone.map((session) => session.current)).toEqual([true, false]);

    // No token or token MAC anywhere in the answer.
    for (const session of [laptop, phone]) {
      const mac = session.refreshToken.split('.')[3]!;
      for (const forbidden of [session.accessToken, session.refreshToken, mac, session.accessToken.split('.')[2]!]) {
        expect(response.text).not.toContain(forbidden);
      }
    }
  });

  it('a refresh moves lastUsedAt and keeps the list in creation order', async () => {
    const { laptop, phone } = await twoDevices('last-used');
    await sleep(15);
    const refreshed = await refresh(laptop.refreshToken);
    expect(refreshed.status).toBe(200);
    const sessions = (await listSessions(phone.accessToken)).body.sessions as Session[];
    expect(sessions.map((session) => session.id)).toEqual([phone.sessionId, laptop.sessionId]);
    const laptopEntry = sessions[1]!;
    expect(Date.parse(laptopEntry.lastUsedAt)).toBeGreaterThan(Date.parse(laptopEntry.createdAt));
  });

  it('expiresAt is the idle deadline (last use + refresh token lifetime); the IP is the one the gateway saw', async () => {
    const email = uniqueEmail('deadline');
    await register(email);
    const session = await login(email, undefined, { deviceName: 'Spoofer' });
    // A client-set forwarding header is not the client IP.
    const spoofed = await api('POST', '/auth/login', {
      json: { email, password: PASSWORD, device: { name: 'Spoofed' } },
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '203.0.113.10', forwarded: 'for=203.0.113.11' },
    });
    expect(spoofed.status, spoofed.text).toBe(200);
    const response = await listSessions(session.accessToken);
    const sessions = response.body.sessions as Session[];
    expect(sessions).toHaveLength(2);
    expect(response.text).not.toContain('203.0.113.');
    const ttlMs = Number(inject('stackEnv').REFRESH_TOKEN_TTL_SECONDS ?? 604_800) * 1000;
    for (const entry of sessions) {
      expect(Date.parse(entry.expiresAt) - Date.parse(entry.lastUsedAt)).toBe(ttlMs);
    }
    // The token response agrees with the listed deadline (to the second).
    const listed = sessions.find((entry) => entry.id === session.sessionId)!;
    const expected = Date.parse(listed.createdAt) + session.refreshExpiresIn * 1000;
    expect(Math.abs(Date.parse(listed.expiresAt) - expected)).toBeLessThan(2_000);
  });

  it('revoked sessions leave the list: after a detected reuse and after logout-all', async () => {
    const { email, laptop, phone } = await twoDevices('list-revoked');
    const rotated = await refresh(laptop.refreshToken);
    expect(rotated.status).toBe(200);
    await sleep(2_600); // past HTTP_TEST_ENV's 2 s grace interval
    expectError(await refresh(laptop.refreshToken), 401, 'token_reused');
    const afterReuse = (await listSessions(phone.accessToken)).body.sessions as Session[];
    expect(afterReuse.map((entry) => entry.id)).toEqual([phone.sessionId]);

    expect((await api('POST', '/auth/logout-all', { token: phone.accessToken })).status).toBe(204);
    const fresh = await login(email);
    const afterAll = (await listSessions(fresh.accessToken)).body.sessions as Session[];
    expect(afterAll.map((entry) => entry.id)).toEqual([fresh.sessionId]);
  });

  it('query parameters cannot widen the list to another user\'s sessions', async () => {
    const mine = await twoDevices('widen-me');
    const theirs = await twoDevices('widen-them');
    const baseline = (await listSessions(mine.laptop.accessToken)).body;
    for (const query of [
      `?userId=${encodeURIComponent(theirs.user.id)}&all=1`,
      `?userId=${encodeURIComponent(theirs.user.id)}`,
      '?all=true&limit=1000',
      `?sessionId=${encodeURIComponent(theirs.laptop.sessionId)}`,
    ]) {
      const response = await listSessions(mine.laptop.accessToken, query);
      expect(response.status, query).toBe(200);
      expect(response.body, query).toEqual(baseline);
      expect(response.text).not.toContain(theirs.laptop.sessionId);
      expect(response.text).not.toContain(theirs.phone.sessionId);
    }
  });

  it('DELETE /auth/sessions/{id} of the other device: 204, that device is out, this one stays', async () => {
    const { laptop, phone } = await twoDevices('delete-other');
    const response = await deleteSession(laptop.accessToken, phone.sessionId);
    expect(response.status, response.text).toBe(204);
    expect(response.text).toBe('');

    await expectRevoked(phone);
    await expectAlive(laptop);
    const sessions = (await listSessions(laptop.accessToken)).body.sessions as Session[];
    expect(sessions.map((session) => session.id)).toEqual([laptop.sessionId]);
    // Deleting it again: it is no longer a live session of the caller's.
    expectError(await deleteSession(laptop.accessToken, phone.sessionId), 404, 'not_found');
  });

  it('deleting another user\'s session or an unknown id is 404 not_found and changes nothing', async () => {
    const mine = await twoDevices('delete-me');
    const theirs = await twoDevices('delete-them');
    const before = (await listSessions(mine.laptop.accessToken)).body;

    const unknownIds = [
      theirs.phone.sessionId,
      theirs.laptop.sessionId,
      randomBytes(16).toString('base64url'),
      'not-a-session-id',
      '../../user',
      'A'.repeat(200),
    ];
    for (const id of unknownIds) {
      expectError(await deleteSession(mine.laptop.accessToken, id), 404, 'not_found');
    }
    await expectAlive(theirs.laptop);
    await expectAlive(theirs.phone);
    const refreshed = await refresh(theirs.phone.refreshToken);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect((await listSessions(mine.laptop.accessToken)).body).toEqual(before);
    expect(((await listSessions(theirs.laptop.accessToken)).body.sessions as Session[]).length).toBe(2);
  });

  it('deleting one\'s own current session is a logout', async () => {
    const { laptop, phone } = await twoDevices('delete-self');
    const response = await deleteSession(laptop.accessToken, laptop.sessionId);
    expect(response.status, response.text).toBe(204);
    await expectRevoked(laptop);
    await expectAlive(phone);
    const sessions = (await listSessions(phone.accessToken)).body.sessions as Session[];
    expect(sessions.map((session) => session.id)).toEqual([phone.sessionId]);
  });

  it(`the cap: five logins keep the ${MAX_SESSIONS} newest sessions; the two oldest are revoked`, async () => {
    const email = uniqueEmail('cap');
    await register(email);
    const logins: TokenResponse[] = [];
    for (let i = 0; i < 5; i++) {
      logins.push(await login(email, undefined, { deviceName: `device ${i}` }));
      await sleep(10);
    }
    const newest = logins[4]!;
    const listed = await listSessions(newest.accessToken);
    expect(listed.status, listed.text).toBe(200);
    const sessions = listed.body.sessions as Session[];
    expect(sessions).toHaveLength(MAX_SESSIONS);
    expect(sessions.map((session) => session.id)).toEqual([logins[4]!.sessionId, logins[3]!.sessionId, logins[2]!.sessionId]);
    expect(sessions.map((session) => session.device.name)).toEqual(['device 4', 'device 3', 'device 2']);

    for (const evicted of logins.slice(0, 2)) {
      const response: ApiResponse = await refresh(evicted.refreshToken);
      expect(response.status, response.text).toBe(401);
      expect(['invalid_token', 'token_reused']).toContain(response.body?.error);
      expectDenied(await me(evicted.accessToken));
    }
    for (const kept of logins.slice(2)) await expectAlive(kept);
  });
});
