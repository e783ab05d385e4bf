import { describe, expect, it } from 'vitest';
import {
  createRefreshSecret,
  formatRefreshToken,
  hashRefreshSecret,
  openSuccessor,
  parseRefreshToken,
  sealSuccessor,
} from '../../lib/tokens/refresh-token';
import { SESSION_ID } from './fixtures';

const SECRET = 'A'.repeat(42) + 'Q'; // 43 base64url characters = 32 bytes

describe('refresh tokens', () => {
  it('parses what it formats', () => {
    const secret = createRefreshSecret();
    expect(parseRefreshToken(formatRefreshToken(SESSION_ID, secret))).toEqual({ sessionId: SESSION_ID, secret });
  });

  it('makes 32-byte secrets (43 base64url characters), different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => createRefreshSecret()));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
  });

  it('refuses an access token (a JWT: three segments)', () => {
    const jwt = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    expect(parseRefreshToken(jwt)).toBeNull();
  });

  it.each([
    ['a session id one character short', `${SESSION_ID.slice(1)}.${SECRET}`],
    ['a session id one character long', `${SESSION_ID}x.${SECRET}`],
    ['a secret one character short', `${SESSION_ID}.${SECRET.slice(1)}`],
    ['a secret one character long', `${SESSION_ID}.${SECRET}A`],
    ['an extra dot', `${SESSION_ID}.${SECRET}.`],
    ['two dots in place of one', `${SESSION_ID}..${SECRET}`],
    ['a leading dot', `.${SESSION_ID}.${SECRET}`],
    ['no dot', `${SESSION_ID}${SECRET}`],
    ['standard base64 characters (+)', `${SESSION_ID.slice(1)}+.${SECRET}`],
    ['standard base64 characters (/)', `${SESSION_ID}.${SECRET.slice(1)}/`],
    ['padding', `${SESSION_ID}.${SECRET.slice(1)}=`],
    ['whitespace', `${SESSION_ID}.${SECRET} `],
    ['a newline', `${SESSION_ID}.${SECRET}\n`],
    ['a non-ASCII character', `${SESSION_ID}.${SECRET.slice(1)}é`],
    ['the empty string', ''],
  ])('refuses %s', (_name, token) => {
    expect(parseRefreshToken(token)).toBeNull();
  });

  it('hashes a secret deterministically, to something that is not the secret', () => {
    const secret = createRefreshSecret();
    const hash = hashRefreshSecret(secret);
    expect(hashRefreshSecret(secret)).toBe(hash);
    expect(hash).not.toBe(secret);
    expect(hash).not.toContain(secret);
    expect(hashRefreshSecret(createRefreshSecret())).not.toBe(hash);
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/); // SHA-256, base64url
  });

  it('seals a successor that the previous secret opens', () => {
    const previous = createRefreshSecret();
    const successor = createRefreshSecret();
    const sealed = sealSuccessor(previous, successor);
    expect(sealed).not.toBe(successor);
    expect(openSuccessor(previous, sealed)).toBe(successor);
  });

  it('does not open a sealed successor with any other secret', () => {
    const previous = createRefreshSecret();
    const successor = createRefreshSecret();
    const sealed = sealSuccessor(previous, successor);
    for (let i = 0; i < 10; i++) expect(openSuccessor(createRefreshSecret(), sealed)).not.toBe(successor);
  });

  it('seals the same successor differently under different previous secrets', () => {
    const successor = createRefreshSecret();
    expect(sealSuccessor(createRefreshSecret(), successor)).not.toBe(sealSuccessor(createRefreshSecret(), successor));
  });
});
