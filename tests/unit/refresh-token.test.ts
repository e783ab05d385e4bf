import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveRefreshTokenKey, formatRefreshToken, parseRefreshToken } from '../../lib/tokens/refresh-token';
import { SESSION_ID } from './fixtures';

const USER_ID = 'u'.repeat(21) + 'A';
const KEY = deriveRefreshTokenKey(new TextEncoder().encode('unit-test-auth-secret-of-32-bytes-or-more'));
const OTHER_KEY = deriveRefreshTokenKey(randomBytes(32));
const CLAIMS = { userId: USER_ID, sessionId: SESSION_ID, generation: 7 };
const TOKEN = formatRefreshToken(KEY, CLAIMS);
const [, , , MAC] = TOKEN.split('.') as [string, string, string, string];

describe('refresh tokens', () => {
  it('parses what it formats, with the claims in it', () => {
    expect(parseRefreshToken(KEY, TOKEN)).toEqual(CLAIMS);
    expect(TOKEN).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.7\.[A-Za-z0-9_-]{43}$/);
  });

  it('is deterministic per (user, session, generation) and differs for each', () => {
    expect(formatRefreshToken(KEY, CLAIMS)).toBe(TOKEN);
    const others = [
      formatRefreshToken(KEY, { ...CLAIMS, generation: 8 }),
      formatRefreshToken(KEY, { ...CLAIMS, sessionId: 'S'.repeat(22) }),
      formatRefreshToken(KEY, { ...CLAIMS, userId: 'V'.repeat(22) }),
      formatRefreshToken(OTHER_KEY, CLAIMS),
    ];
    expect(new Set(others.map((token) => token.split('.')[3])).size).toBe(4);
    expect(others.map((token) => token.split('.')[3])).not.toContain(MAC);
  });

  it('refuses a token made under another key (the key is not in Redis, so Redis data cannot mint one)', () => {
    expect(parseRefreshToken(OTHER_KEY, TOKEN)).toBeNull();
  });

  it.each([
    ['another generation with the same MAC', `${USER_ID}.${SESSION_ID}.8.${MAC}`],
    ['an older generation with the same MAC', `${USER_ID}.${SESSION_ID}.0.${MAC}`],
    ['another session with the same MAC', `${USER_ID}.${'S'.repeat(22)}.7.${MAC}`],
    ['another user with the same MAC', `${'V'.repeat(22)}.${SESSION_ID}.7.${MAC}`],
    ['a random MAC', `${USER_ID}.${SESSION_ID}.7.${randomBytes(32).toString('base64url')}`],
  ])('refuses a forgery: %s', (_name, token) => {
    expect(parseRefreshToken(KEY, token)).toBeNull();
  });

  it('refuses an access token (a JWT: three segments)', () => {
    const jwt = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    expect(parseRefreshToken(KEY, jwt)).toBeNull();
  });

  it.each([
    ['a user id one character short', TOKEN.slice(1)],
    ['a session id one character long', `${USER_ID}.${SESSION_ID}x.7.${MAC}`],
    ['a MAC one character short', TOKEN.slice(0, -1)],
    ['a MAC one character long', `${TOKEN}A`],
    ['a non-canonical last MAC character', `${TOKEN.slice(0, -1)}${String.fromCharCode(TOKEN.charCodeAt(TOKEN.length - 1) ^ 1)}`],
    ['a leading zero in the generation', `${USER_ID}.${SESSION_ID}.07.${MAC}`],
    ['a negative generation', `${USER_ID}.${SESSION_ID}.-7.${MAC}`],
    ['a generation past 2^53', `${USER_ID}.${SESSION_ID}.9999999999999999.${MAC}`],
    ['an extra dot', `${TOKEN}.`],
    ['a leading dot', `.${TOKEN}`],
    ['the old two-part format', `${SESSION_ID}.${MAC}`],
    ['standard base64 characters (+)', TOKEN.replace(/[-_]/, '+')],
    ['padding', `${TOKEN.slice(0, -1)}=`],
    ['whitespace', `${TOKEN} `],
    ['a newline', `${TOKEN}\n`],
    ['a non-ASCII character', `${TOKEN.slice(0, -1)}é`],
    ['the empty string', ''],
  ])('refuses %s', (_name, token) => {
    expect(parseRefreshToken(KEY, token)).toBeNull();
  });
});
