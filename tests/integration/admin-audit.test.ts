/**
 * The admin Lambda's handler in-process against the suite's real Redis: every action is one
 * audit log line (`admin_action`) naming the actor, success or failure, with no secret in it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Deps } from '../../lib/deps';
import { createTestDeps, TEST_AUTH_SECRET } from '../support/deps';
import { PASSWORD, registerAndLogin } from './helpers';

const prefix = `it-admin-${randomBytes(4).toString('hex')}:`;
const saved = { ...process.env };
let handler: (payload: unknown, context?: any) => Promise<any>;
let deps: Deps;
const lines: string[] = [];

beforeAll(async () => {
  Object.assign(process.env, {
    UPSTASH_REDIS_REST_URL: inject('gatewayUrl'),
    UPSTASH_REDIS_REST_TOKEN: inject('gatewayToken'),
    REDIS_KEY_PREFIX: prefix,
    JWT_ISSUER: 'https://auth.test',
    JWT_AUDIENCE: 'https://api.test',
    AUTH_SECRET: TEST_AUTH_SECRET,
  });
  deps = await createTestDeps({ REDIS_KEY_PREFIX: prefix, RATE_LIMIT_REGISTER_PER_IP: 'off' });
  ({ handler } = await import('../../functions/admin'));
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any, ...rest: any[]) => {
    lines.push(String(chunk));
    return write(chunk, ...rest);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
  process.env = saved;
});

const auditLines = () => lines.flatMap((line) => line.split('\n')).filter((line) => line.includes('"admin_action"')).map((line) => JSON.parse(line));

describe('admin audit log', () => {
  it('logs one admin_action line per invocation with actor, action, user and outcome; never a token or hash', async () => {
    const { tokens, userId } = await registerAndLogin(deps, { ip: '198.51.100.200' });
    lines.length = 0;
    expect((await handler({ action: 'getUser', actor: 'ops/jane', userId }, { awsRequestId: 'req-1' })).user.id).toBe(userId);
    expect((await handler({ action: 'disableUser', actor: 'ops/jane', userId, reason: 'ticket 42' }, { awsRequestId: 'req-2' })).user.disabled).toBe(true);
    expect(await handler({ action: 'getUser', actor: 'ops/jane', userId: 'AAAAAAAAAAAAAAAAAAAAAA' })).toEqual({ error: 'not_found', message: expect.any(String) });
    expect(await handler({ action: 'getUser', userId })).toEqual({ error: 'invalid_request', message: expect.any(String) });

    const audit = auditLines();
    expect(audit).toHaveLength(4);
    expect(audit[0]).toMatchObject({ event: 'admin_action', actor: 'ops/jane', action: 'getUser', userId, outcome: 'success', requestId: 'req-1' });
    expect(audit[1]).toMatchObject({ actor: 'ops/jane', action: 'disableUser', userId, outcome: 'success' });
    expect(audit[2]).toMatchObject({ actor: 'ops/jane', action: 'getUser', outcome: 'failure', reason: 'not_found' });
    expect(audit[3]).toMatchObject({ outcome: 'failure', reason: 'invalid_request' });
    const text = JSON.stringify(audit);
    for (const secret of [tokens.accessToken, tokens.refreshToken, PASSWORD]) expect(text).not.toContain(secret);
  });
});
