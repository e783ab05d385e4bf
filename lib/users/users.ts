import { createHmac } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { Redis } from '@upstash/redis';
import type { User as ContractUser, UserRef } from '../../client/src/contract';
import type { Deps } from '../deps';
import type { Config } from '../config';
import { AuthError, ConfigError } from '../errors';
import type { RequestContext } from '../log';
import type { RedisKeys } from '../store/keys';
import { guardStore, readHashFields, runScript } from '../store/redis';
import { EMAIL_INDEX_FIELDS, USER_FIELDS } from '../store/schema';
import { CLAIM_EMAIL } from '../store/scripts/claim-email';
import { REMEMBER_DEVICE } from '../store/scripts/remember-device';
import { SET_PASSWORD_HASH } from '../store/scripts/set-password-hash';
import { LONE_SURROGATE, costOf, createDummyHash, hashPassword, normalizePassword, verifyPassword } from './passwords';

/** A user as a session and a token response name it: `{id, email}`. */
export type User = UserRef;

/** The contract's `user` object (SPEC: `{id, email, emailVerified, createdAt, ...}`). */
export type RegisteredUser = ContractUser;

const MAX_EMAIL_LENGTH = 254;
const LOCAL_PART_PATTERN = /^[^\s@]+$/;
const DOMAIN_PATTERN = /^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z0-9-]+$/;
/** Control, format (zero-width, bidi), whitespace and separator characters, and the RFC 5322 specials. */
const FORBIDDEN_IN_EMAIL = /[\p{Cc}\p{Cf}\p{Z}\s<>()[\]\\,;:"]/u;

function invalidEmail(): AuthError {
  return new AuthError('invalid_request', 'email must be a valid email address.');
}

/**
 * The one form of an email used for storage, lookup and rate-limit keys: trimmed; the local
 * part NFC and lower-cased; the domain converted with IDNA (UTS #46) to lower-case ASCII, so
 * `bücher.example`, `xn--bcher-kva.example` and a full-width spelling are one domain.
 * Throws `invalid_request` for a non-string, a string that is not well-formed UTF-16 (a lone
 * surrogate), one holding control, format (zero-width), whitespace characters or `<>()[]\,;:"`,
 * a domain IDNA refuses, or something that is not an address.
 */
export function normalizeEmail(value: unknown): string {
  if (typeof value !== 'string') throw new AuthError('invalid_request', 'email must be a string.');
  if (LONE_SURROGATE.test(value)) throw invalidEmail();
  const trimmed = value.trim();
  if (FORBIDDEN_IN_EMAIL.test(trimmed)) throw invalidEmail();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0) throw invalidEmail();
  const local = trimmed.slice(0, at).normalize('NFC').toLowerCase();
  const rawDomain = trimmed.slice(at + 1);
  const domain = rawDomain === '' ? '' : domainToASCII(rawDomain).toLowerCase();
  if (!LOCAL_PART_PATTERN.test(local) || !DOMAIN_PATTERN.test(domain)) throw invalidEmail();
  const email = `${local}@${domain}`;
  if (email.length > MAX_EMAIL_LENGTH) throw invalidEmail();
  return email;
}

/**
 * Creates a user with a server-made id. Atomic where it matters: of concurrent registrations
 * of one email, exactly one succeeds; the others fail with `email_taken`. Fails with
 * `invalid_request` (bad email or password) before any hashing or store access.
 *
 * Two store requests, in this order: the user record (in the user's slot), then the claim of
 * the email index (the one untagged key). The index therefore never points to a missing
 * record; a registration that loses the race deletes its own record (a third request), and one
 * that fails in between leaves a record that no email leads to (harmless, never reachable).
 */
export async function registerUser(
  deps: Deps,
  input: { email: unknown; password: unknown },
  context: RequestContext,
): Promise<RegisteredUser> {
  const email = normalizeEmail(input.email);
  const password = normalizePassword(input.password, true);
  const passwordHash = await hashPassword(password, deps.config.bcryptCost);
  const user = { id: deps.ids.userId(), email, emailVerified: false, mfa: { totp: false }, passkeys: 0, createdAt: new Date(deps.clock.now()).toISOString() };
  const record = deps.keys.user(user.id);

  await guardStore(() =>
    deps.redis.hset(record, { [USER_FIELDS.userId]: user.id, [USER_FIELDS.email]: email, [USER_FIELDS.createdAt]: user.createdAt }),
  );
  const claimed = await runScript<number>(deps.redis, CLAIM_EMAIL, [deps.keys.emailIndex(email)], [user.id, passwordHash]);
  if (claimed !== 1) {
    await guardStore(() => deps.redis.del(record)).catch((error: unknown) => deps.logger.error('orphan_user_cleanup_failed', error));
    deps.logger.event('register', context, { outcome: 'failure', reason: 'email_taken' });
    throw new AuthError('email_taken');
  }
  deps.logger.event('register', context, { outcome: 'success', userId: user.id });
  return user;
}

/** What login needs of a user: found by normalized email. */
export interface Credentials {
  id: string;
  email: string;
  passwordHash: string;
  /** Tags of the devices (client IPs) that signed in to the account lately ({@link deviceTags}). */
  knownDevices: string[];
}

/** How many devices an account remembers as known. */
const MAX_KNOWN_DEVICES = 10;

/**
 * The tags a device (a client IP) is known by, the current key's first (AUTH_SECRET_PREVIOUS
 * during a rotation recognizes devices remembered before it): HMAC-SHA256 under a server key (an IP has
 * too little entropy for a plain hash to hide it in a copy of Redis), 96 bits, base64url.
 */
export function deviceTags(config: Config, ip: string): string[] {
  if (config.deviceTagKeys.length === 0) throw new ConfigError('AUTH_SECRET is required by a function that signs users in.');
  return config.deviceTagKeys.map((key) => createHmac('sha256', key).update(ip).digest().subarray(0, 12).toString('base64url'));
}

/** How an account knows the device (client IP) a sign-in comes from. */
export interface DeviceRecognition {
  /** The device's tag under the current key (the one to remember). */
  tag: string;
  /** Among the account's known devices (under the current key or a previous one). */
  known: boolean;
  /** Known under the current key: nothing to remember. */
  current: boolean;
  /** Unknown to an account that has signed in before: the new-device notice (not for a first sign-in). */
  isNew: boolean;
}

/** Recognizes the device of a sign-in among the account's known devices ({@link deviceTags}). No store request. */
export function recognizeDevice(config: Config, knownDevices: string[], ip: string): DeviceRecognition {
  const [tag, ...previous] = deviceTags(config, ip) as [string, ...string[]];
  const knownAs = knownDevices.find((known) => known === tag || previous.includes(known));
  return { tag, known: knownAs !== undefined, current: knownAs === tag, isNew: knownAs === undefined && knownDevices.length > 0 };
}

/**
 * Remembers the device as known to the account (after a correct password). One store request,
 * on the client given: login passes its same-tick pipelined client, so this and the session's
 * creation travel in one HTTP request.
 */
export async function rememberDevice(redis: Redis, keys: RedisKeys, credentials: Credentials, tag: string): Promise<void> {
  await runScript(redis, REMEMBER_DEVICE, [keys.emailIndex(credentials.email)], [credentials.id, tag, MAX_KNOWN_DEVICES]);
}

/**
 * The stored credentials for a normalized email (from the email index), or `null`. One store request (HMGET), on
 * the client given: login passes its same-tick pipelined client, so this lookup and the rate
 * limits travel in one HTTP request.
 */
export async function findCredentials(redis: Redis, keys: RedisKeys, email: string): Promise<Credentials | null> {
  const [id, passwordHash, known] = await readHashFields(redis, keys.emailIndex(email), [
    EMAIL_INDEX_FIELDS.userId,
    EMAIL_INDEX_FIELDS.passwordHash,
    EMAIL_INDEX_FIELDS.knownDevices,
  ]);
  return id && passwordHash ? { id, email, passwordHash, knownDevices: (known ?? '').split(' ').filter(Boolean) } : null;
}

const dummyHashes = new Map<number, string>();

/**
 * Checks a (normalized) password against found credentials. Unknown email (`null`) and wrong
 * password fail alike, after one bcrypt comparison of the same cost either way (a dummy hash
 * stands in for the missing user), so neither the answer nor its timing tells them apart.
 */
export async function checkPassword(deps: Deps, credentials: Credentials | null, password: string): Promise<User | null> {
  if (!credentials) {
    let dummy = dummyHashes.get(deps.config.bcryptCost);
    if (!dummy) dummyHashes.set(deps.config.bcryptCost, (dummy = createDummyHash(deps.config.bcryptCost)));
    await verifyPassword(password, dummy);
    return null;
  }
  return (await verifyPassword(password, credentials.passwordHash)) ? { id: credentials.id, email: credentials.email } : null;
}

/**
 * After a successful login, re-hashes a password stored at another bcrypt cost than
 * BCRYPT_COST. Raising the cost otherwise leaves old accounts faster to check than the dummy
 * hash of unknown emails, which would let timing tell them apart. One store request, only for
 * such accounts; a fault here is logged and does not fail the login.
 */
export async function upgradePasswordHash(deps: Deps, credentials: Credentials, password: string): Promise<void> {
  if (costOf(credentials.passwordHash) === deps.config.bcryptCost) return;
  try {
    const passwordHash = await hashPassword(password, deps.config.bcryptCost);
    await runScript(deps.redis, SET_PASSWORD_HASH, [deps.keys.emailIndex(credentials.email)], [credentials.id, passwordHash, credentials.passwordHash]);
  } catch (error) {
    deps.logger.error('password_rehash_failed', error);
  }
}

/**
 * The signed-in caller's user and credentials, once `password` is proven right (the routes that
 * change an account ask for it again): `invalid_token` if the user is gone, `invalid_credentials`
 * for a wrong password. `check` runs on the user before the password is compared.
 */
export async function checkCallerPassword(
  deps: Deps,
  userId: string,
  password: string,
  check?: (user: RegisteredUser) => void,
): Promise<{ user: RegisteredUser; credentials: Credentials }> {
  const user = await findUserById(deps, userId);
  if (!user) throw new AuthError('invalid_token');
  check?.(user);
  const credentials = await findCredentials(deps.redis, deps.keys, user.email);
  if (!credentials || !(await checkPassword(deps, credentials, password))) throw new AuthError('invalid_credentials');
  return { user, credentials };
}

/** A user by id (the record in the user's slot), or `null`. One store request. */
export function findUserById(deps: Deps, userId: string): Promise<RegisteredUser | null> {
  return readUser(deps.redis, deps.keys, userId);
}

/** {@link findUserById} on the client given (GET /auth/me pipelines it with the session check). */
export async function readUser(redis: Redis, keys: RedisKeys, userId: string): Promise<RegisteredUser | null> {
  const [id, email, createdAt, verified, totp, passkeys] = await readHashFields(redis, keys.user(userId), [
    USER_FIELDS.userId,
    USER_FIELDS.email,
    USER_FIELDS.createdAt,
    USER_FIELDS.emailVerified,
    USER_FIELDS.totpSecret,
    USER_FIELDS.passkeyCount,
  ]);
  return id === userId && email && createdAt ? { id, email, emailVerified: verified === '1', mfa: { totp: totp !== null }, passkeys: Number(passkeys ?? 0), createdAt } : null;
}
