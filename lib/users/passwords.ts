import { createHash, randomInt } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { AuthError } from '../errors';

export const PASSWORD_MIN_CHARACTERS = 8;
export const PASSWORD_MAX_CHARACTERS = 256;

/** A lone surrogate (with the u flag, a pair is one code point and does not match). */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * NFKC form of a password, so that one password typed on two keyboards (composed or
 * decomposed accents, full-width digits) is one password. Throws `invalid_request` for a
 * non-string, a string that is not well-formed UTF-16 (a lone surrogate would become U+FFFD
 * in UTF-8, making distinct passwords one), or, when `enforceLength`, outside 8..256 code points.
 */
export function normalizePassword(value: unknown, enforceLength: boolean): string {
  if (typeof value !== 'string') throw new AuthError('invalid_request', 'password must be a string.');
  if (LONE_SURROGATE.test(value)) throw new AuthError('invalid_request', 'password must be well-formed Unicode.');
  const normalized = value.normalize('NFKC');
  const length = [...normalized].length;
  if (length > PASSWORD_MAX_CHARACTERS || (enforceLength && length < PASSWORD_MIN_CHARACTERS)) {
    throw new AuthError(
      'invalid_request',
      `password must be ${PASSWORD_MIN_CHARACTERS} to ${PASSWORD_MAX_CHARACTERS} characters long.`,
    );
  }
  return normalized;
}

/**
 * bcrypt reads at most 72 bytes (bcryptjs silently ignores the rest), so every password is
 * first reduced to its SHA-256 digest in base64 (44 ASCII bytes, no NUL): two passwords that
 * share their first 72 bytes stay two passwords.
 */
function preHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(preHash(password), cost);
}

/** The cost a stored hash was made with. */
export function costOf(hash: string): number {
  return bcrypt.getRounds(hash);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(preHash(password), hash);
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A well-formed bcrypt hash of the given cost that matches no password, compared on the
 * unknown-email path so that it costs the same as a wrong password. Built from random
 * characters, not by hashing, so a cold start pays nothing for it. (bcryptjs returns at once
 * on a malformed hash, which would make unknown emails measurably faster.)
 */
export function createDummyHash(cost: number): string {
  const random = Array.from({ length: 53 }, () => BCRYPT_ALPHABET[randomInt(BCRYPT_ALPHABET.length)]).join('');
  // bcrypt's 22-char salt ends in a character whose low 4 bits are unused; keep it canonical.
  const salt = `${random.slice(0, 21)}${'.Oeu'[randomInt(4)]}`;
  return `$2b$${String(cost).padStart(2, '0')}$${salt}${random.slice(22)}`;
}
