/**
 * The real Powertools-based logger (createAuthLogger) over a whole flow, with stdout, stderr
 * and console captured: every auth event is one JSON line with event, outcome, sourceIp and
 * requestId, and no password, token, token secret or hash reaches the output, not even
 * through a Redis error message that quotes the failed command.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMySessions, login, logout, logoutAll, refresh, register, revokeMySession, type TokenResponse } from '../../lib/auth';
import type { Deps } from '../../lib/deps';
import { StoreUnavailableError } from '../../lib/errors';
import { createAuthLogger, type AuthEventName, type AuthLogger, type RequestContext } from '../../lib/log';
import { formatRefreshToken } from '../../lib/tokens/refresh-token';
import { createTestClock, createTestDeps } from '../support/deps';
import { flatToRecord, outcomeOf, PASSWORD, uniqueEmail } from './helpers';

/** Everything written to stdout, stderr or the console while the flow runs. */
const output: string[] = [];
const restores: (() => void)[] = [];

function capture(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restores.push(() => (stream.write = original));
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => void output.push(`${args.map(String).join(' ')}\n`);
    restores.push(() => (console[method] = original));
  }
}

interface LogLine {
  event?: string;
  outcome?: string;
  sourceIp?: string;
  requestId?: string;
  [key: string]: unknown;
}

function jsonLines(): LogLine[] {
  return output
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return { unparsed: line };
      }
    });
}

/** The requests of the flow, by request id, with the events each must log. */
const expected: { requestId: string; ip: string; events: AuthEventName[] }[] = [];
/** Every secret the flow handled; none may appear in the output. */
const secrets = new Set<string>();

function context(events: AuthEventName[]): RequestContext {
  const ctx = { ip: `198.51.100.${expected.length + 1}`, userAgent: 'vitest-logs', requestId: `req-${randomBytes(6).toString('hex')}` };
  expected.push({ requestId: ctx.requestId, ip: ctx.ip, events });
  return ctx;
}

function remember(tokens: TokenResponse): TokenResponse {
  const mac = tokens.refreshToken.split('.')[3]!;
  for (const value of [tokens.accessToken, tokens.refreshToken, mac]) secrets.add(value);
  return tokens;
}

async function rememberStored(deps: Deps, key: string, fields: string[]): Promise<void> {
  const record = flatToRecord(await deps.redis.hgetall(key));
  for (const field of fields) {
    for (const value of (record[field] ?? '').split(' ')) if (value) secrets.add(value);
  }
}

async function expectCode(operation: Promise<unknown>, code: string): Promise<unknown> {
  const outcome = await outcomeOf(operation);
  expect(outcome.code).toBe(code);
  return outcome.error;
}

let logger: AuthLogger;

beforeAll(() => {
  capture();
  logger = createAuthLogger();
});

afterAll(() => {
  for (const restore of restores.splice(0).reverse()) restore();
});

describe('auth event logs', () => {
  it('one JSON line per event, and no secret anywhere in the output', async () => {
    const clock = createTestClock();
    const env = { REFRESH_REUSE_INTERVAL_SECONDS: '10', MAX_SESSIONS_PER_USER: '2' };
    const deps = await createTestDeps(env, { clock, logger });
    // Tight limits on a store of their own (limiter keys are per prefix).
    const strict = await createTestDeps({ ...env, RATE_LIMIT_LOGIN_PER_ACCOUNT: '1/60s', RATE_LIMIT_REFRESH_PER_SESSION: '1/60s' }, { clock, logger });
    const email = uniqueEmail('logs');
    const wrongPassword = 'not the right password';
    secrets.add(PASSWORD).add(wrongPassword);

    // register, and a second one of the same email
    const user = await register(deps, { email, password: PASSWORD }, context(['register', 'email_verification_sent']));
    await rememberStored(deps, deps.keys.emailIndex(email), ['pw']);
    await expectCode(register(deps, { email, password: PASSWORD }, context(['register'])), 'email_taken');

    // login ok, wrong password, unknown email
    const phone = remember(await login(deps, { email, password: PASSWORD, deviceName: 'phone' }, context(['login_ok'])));
    await expectCode(login(deps, { email, password: wrongPassword }, context(['login_failed'])), 'invalid_credentials');
    await expectCode(login(deps, { email: uniqueEmail('nobody'), password: wrongPassword }, context(['login_failed'])), 'invalid_credentials');

    // refresh, a grace-interval repeat, a forged token, then reuse after the interval
    const rotated = remember(await refresh(deps, phone.refreshToken, context(['refresh'])));
    remember(await refresh(deps, phone.refreshToken, context(['refresh'])));
    const forgedMac = randomBytes(32).toString('base64url');
    secrets.add(forgedMac);
    await expectCode(refresh(deps, `${user.id}.${phone.sessionId}.0.${forgedMac}`, context(['refresh'])), 'invalid_token');
    clock.advance(11_000);
    await expectCode(refresh(deps, phone.refreshToken, context(['reuse_detected'])), 'token_reused');
    await expectCode(refresh(deps, rotated.refreshToken, context(['refresh'])), 'invalid_token');

    // revoke one session from another, logout, logout-all, eviction by the cap
    const laptop = remember(await login(deps, { email, password: PASSWORD, deviceName: 'laptop' }, context(['login_ok'])));
    const tablet = remember(await login(deps, { email, password: PASSWORD, deviceName: 'tablet' }, context(['login_ok'])));
    const principal = (t: TokenResponse) => ({ userId: t.user.id, sessionId: t.sessionId });
    await revokeMySession(deps, principal(laptop), tablet.sessionId, context(['session_revoked']));
    await expectCode(revokeMySession(deps, principal(laptop), tablet.sessionId, context([])), 'not_found');
    await logout(deps, principal(laptop), context(['logout']));
    const watch = remember(await login(deps, { email, password: PASSWORD, deviceName: 'watch' }, context(['login_ok'])));
    await logoutAll(deps, principal(watch), context(['logout_all']));
    clock.advance(1_000);
    remember(await login(deps, { email, password: PASSWORD }, context(['login_ok'])));
    clock.advance(1_000);
    const second = remember(await login(deps, { email, password: PASSWORD }, context(['login_ok'])));
    clock.advance(1_000);
    remember(await login(deps, { email, password: PASSWORD }, context(['login_ok', 'session_evicted'])));
    await listMySessions(deps, principal(second));

    // rate limited: login per account, refresh per session
    await register(strict, { email, password: PASSWORD }, context(['register', 'email_verification_sent']));
    await rememberStored(strict, strict.keys.emailIndex(email), ['pw']);
    const limited = remember(await login(strict, { email, password: PASSWORD }, context(['login_ok'])));
    await expectCode(login(strict, { email, password: wrongPassword }, context(['login_failed'])), 'invalid_credentials');
    // One failure used up the account-wide ceiling (1/60s): a device that never signed in is refused.
    await expectCode(login(strict, { email, password: PASSWORD }, context(['rate_limited'])), 'rate_limited');
    const once = remember(await refresh(strict, limited.refreshToken, context(['refresh'])));
    await expectCode(refresh(strict, once.refreshToken, context(['rate_limited'])), 'rate_limited');

    // a store fault (a Redis error reply inside the rotation script), logged as
    // functions/http.ts does
    const brokenId = randomBytes(16).toString('base64url');
    await deps.redis.set(deps.keys.session(user.id, brokenId), 'not a hash');
    const brokenToken = formatRefreshToken(deps.config.refreshTokenKeys[0]!, { userId: user.id, sessionId: brokenId, generation: 0 });
    secrets.add(brokenToken).add(brokenToken.split('.')[3]!);
    const faultContext = context(['store_fault']);
    const fault = await expectCode(refresh(deps, brokenToken, faultContext), 'service_unavailable');
    expect(fault).toBeInstanceOf(StoreUnavailableError);
    logger.error('store_fault', fault, { requestId: faultContext.requestId });
    // @upstash/redis's own HttpClient quotes the failed command in its message; the logger
    // must cut that off whichever transport produced the error.
    const quoted = new errors.UpstashError(`WRONGTYPE Operation, command was: ${JSON.stringify([['evalsha', 'x', '1', brokenId, brokenToken]])}`);
    logger.error('store_fault', new StoreUnavailableError(quoted), { requestId: faultContext.requestId });
    logger.event('store_fault', faultContext, { outcome: 'failure' });

    const lines = jsonLines();
    expect(user.id).toBeTruthy();

    // Each request logged exactly its events, one JSON line each, with the required fields.
    for (const { requestId, ip, events } of expected) {
      const mine = lines.filter((line) => line.requestId === requestId && typeof line.event === 'string');
      expect(mine.map((line) => line.event), `events of ${requestId}`).toEqual(events);
      for (const line of mine) {
        expect(['success', 'failure', 'denied']).toContain(line.outcome);
        expect(line.sourceIp).toBe(ip);
        expect(line.requestId).toBe(requestId);
      }
    }
    const seen = new Set(lines.map((line) => line.event));
    for (const name of [
      'register', 'login_ok', 'login_failed', 'refresh', 'reuse_detected', 'logout', 'logout_all',
      'session_revoked', 'session_evicted', 'rate_limited', 'store_fault',
    ]) {
      expect(seen, name).toContain(name);
    }
    // A reuse names whose session was revoked: the user, for the alert and the account view.
    expect(lines.find((line) => line.event === 'reuse_detected')).toMatchObject({ userId: user.id, sessionId: phone.sessionId, outcome: 'denied' });
    // The fault's error line is there too, by name.
    expect(lines.some((line) => line.message === 'store_fault' && line.level === 'ERROR' && line.requestId === faultContext.requestId)).toBe(true);

    // No secret, in any line, parsed or not.
    const text = output.join('');
    expect(text.length).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(30);
    for (const secret of secrets) {
      expect(text.includes(secret), `a secret (${secret.slice(0, 6)}…) was logged`).toBe(false);
    }
    expect(text).not.toMatch(/\$2[aby]\$\d\d\$/);
    // log.ts promises an allow-list without emails as well.
    expect(text).not.toContain(email);
  });
});
