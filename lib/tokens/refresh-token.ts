import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Refresh tokens are opaque: `<session id>.<secret>`, 16 + 32 random bytes in base64url. Only a
 * SHA-256 hash of the secret is stored, so a copy of Redis does not yield usable tokens. One
 * dot (a JWT has two) and no signature: it can never pass as an access token, nor an access
 * token as one of these.
 */
const REFRESH_TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const SECRET_BYTES = 32;

export interface ParsedRefreshToken {
  sessionId: string;
  secret: string;
}

export function formatRefreshToken(sessionId: string, secret: string): string {
  return `${sessionId}.${secret}`;
}

/** Returns `null` for anything that is not exactly our format (including access tokens). */
export function parseRefreshToken(token: string): ParsedRefreshToken | null {
  const match = REFRESH_TOKEN_PATTERN.exec(token);
  return match ? { sessionId: match[1]!, secret: match[2]! } : null;
}

export function createRefreshSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function hashRefreshSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/**
 * Encrypts the successor's secret under a one-time pad derived from the previous secret
 * (HMAC-SHA256 of a fixed label, keyed by a 256-bit random secret used once). Stored with
 * the session so that concurrent refreshes of the previous token inside the grace interval
 * can be answered with the same successor, while Redis alone cannot recover it.
 */
export function sealSuccessor(previousSecret: string, successorSecret: string): string {
  return xor(Buffer.from(successorSecret, 'base64url'), successorPad(previousSecret)).toString('base64url');
}

/** Inverse of {@link sealSuccessor}. */
export function openSuccessor(previousSecret: string, sealed: string): string {
  return xor(Buffer.from(sealed, 'base64url'), successorPad(previousSecret)).toString('base64url');
}

function successorPad(previousSecret: string): Buffer {
  return createHmac('sha256', Buffer.from(previousSecret, 'base64url')).update('refresh-token-successor').digest();
}

function xor(data: Buffer, pad: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ pad[i % pad.length]!;
  return out;
}
