/**
 * The one field schema of the hashes in Redis (keys: ./keys.ts). TypeScript writes and reads
 * these names through the constants below; the Lua scripts spell them literally, and
 * tests/unit/scripts.test.ts fails if a script names a field that is not declared here.
 */

/** Email index hash (`emailIndex(email)`): login's lookup. */
export const EMAIL_INDEX_FIELDS = {
  /** The user's id. */
  userId: 'id',
  /** bcrypt hash of the NFKC-normalized password. */
  passwordHash: 'pw',
  /**
   * Known devices: keyed tags (HMAC) of the client IPs that signed in to the account lately,
   * newest first, space-separated, at most 10. Exempts them from the account-wide failure
   * ceiling; the IPs themselves are not stored.
   */
  knownDevices: 'kd',
} as const;

/** User record hash (`user(id)`). */
export const USER_FIELDS = {
  userId: 'id',
  /** Normalized email (the email index key points back here). */
  email: 'email',
  /** ISO 8601 creation time. */
  createdAt: 'created',
  /** '1' once the current email was confirmed through a mailed link. */
  emailVerified: 'ev',
  /** The confirmed TOTP secret, sealed (AES-256-GCM under a key derived from AUTH_SECRET); absent = MFA off. */
  totpSecret: 'totp',
  /** A TOTP secret enrolled but not yet confirmed, sealed the same way. */
  totpPending: 'totpp',
  /** The last accepted TOTP step (no code of it or before it is accepted again). */
  totpLastStep: 'totps',
  /** SHA-256 hashes of the unused recovery codes, space-separated. */
  recoveryCodes: 'rc',
  /** Wrong second-factor codes (RATE_LIMIT_MFA_PER_USER): the current window, and the count in it. */
  mfaWrongWindow: 'mfw',
  mfaWrongCount: 'mfc',
  /** How many passkeys the user has (the `passkeys` hash's length, kept by its script). */
  passkeyCount: 'pkn',
  /** '1' while an administrator has disabled the account (admin Lambda): no login, no session. */
  disabled: 'dis',
  /** Why it was disabled (the admin's `reason`, at most 200 characters), for the admin view only. */
  disabledReason: 'disr',
  /** When a session was last created for the user (ms since the epoch; the admin view's `lastLoginAt`). */
  lastLoginAt: 'll',
} as const;

/** MFA challenge hash (`mfaChallenge(userId, hash)`): one login waiting for its second factor. */
export const MFA_CHALLENGE_FIELDS = {
  /** The login it belongs to: device and refresh transport, as JSON. */
  login: 'd',
  /** Wrong codes so far (5 end it). */
  wrong: 'n',
  /** ms; checked as well as the key's TTL. */
  expiresAt: 'exp',
} as const;

/** Account token hash (`accountToken(userId, purpose)`): one pending token of one purpose. */
export const ACCOUNT_TOKEN_FIELDS = {
  /** SHA-256 of the token's secret (the secret itself is only in the mailed link). */
  hash: 'h',
  /** ms since the epoch. */
  expiresAt: 'exp',
  /** The address it was mailed to (the one to verify, reset or switch to). */
  email: 'email',
  /** An email change's address before it: still deleted from the email index by a retry. */
  previousEmail: 'prev',
  /** Nonce of the request that holds it while it finishes a change in other slots, and until when (ms). */
  claim: 'cl',
  claimExpiresAt: 'clx',
} as const;

/**
 * Session hash (`session(userId, sessionId)`). Its size does not grow with rotations: the
 * refresh token is `(user, session, generation)` under a MAC, so the session keeps only the
 * current generation and the times of its last few rotations (grace interval).
 */
export const SESSION_FIELDS = {
  userId: 'uid',
  /** ms since the epoch. */
  createdAt: 'created',
  lastUsedAt: 'used',
  /** Absolute deadline (creation + SESSION_MAX_TTL_SECONDS), ms. */
  absoluteDeadline: 'abs',
  /** Deadline = min(last refresh + refresh TTL, abs), ms; the key expires then. */
  deadline: 'exp',
  /** Generation of the one refresh token that rotates now (0 = never rotated). */
  generation: 'gen',
  /** When each of the last generations was rotated (only those inside the grace interval, at most 16), newest first, space-separated ms. */
  rotatedAt: 'rot',
  /** Nonce of the call that made the last rotation: its retry (lost reply) is recognized. */
  rotationNonce: 'rn',
  /** Authenticator assurance level of the session: '1' (password), '2' (a second factor). */
  aal: 'aal',
  /** RFC 8176 methods that authenticated it, space-separated (`pwd`, `pwd otp`, ...). */
  amr: 'amr',
  /** When its last second factor was given (ms; sudo mode), '0' for none. */
  secondFactorAt: 'mfa',
  /** Where its refresh token travels ('body' or 'cookie'): a step-up answers the same way. */
  transport: 'tr',
  deviceName: 'dname',
  userAgent: 'ua',
  ip: 'ip',
  /** Refresh rate limit (sliding window): current window, its count, the previous count. */
  refreshWindow: 'rlw',
  refreshCount: 'rlc',
  refreshPrevious: 'rlp',
} as const;

/** Every declared field name, for the script test. */
export const DECLARED_FIELDS: ReadonlySet<string> = new Set([
  ...Object.values(EMAIL_INDEX_FIELDS),
  ...Object.values(USER_FIELDS),
  ...Object.values(SESSION_FIELDS),
  ...Object.values(ACCOUNT_TOKEN_FIELDS),
  ...Object.values(MFA_CHALLENGE_FIELDS),
]);
