/**
 * The wire contract of the service (shared/SPEC.md), declared once: the SDK speaks it, and
 * `lib/`, `functions/` and the tests import these types (type-only) instead of declaring their
 * own. Types only: this file emits no code.
 */

/** Every error code of the contract; the answer body is `{error, message}`. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_credentials'
  | 'invalid_token'
  | 'token_reused'
  | 'invalid_code'
  | 'forbidden'
  | 'step_up_required'
  | 'email_not_verified'
  | 'account_disabled'
  | 'not_found'
  | 'email_taken'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error';

/** An error answer of the service, every endpoint. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

/** The contract's `user` (register, email verification, `/auth/me`). */
export interface User {
  id: string;
  email: string;
  emailVerified: boolean;
  /** ISO 8601. */
  createdAt: string;
  /** Second factors: `totp` is on once an enrollment is confirmed. */
  mfa: { totp: boolean };
  /** The number of registered passkeys. */
  passkeys: number;
}

/** The user as a token response names it. */
export type UserRef = Pick<User, 'id' | 'email'>;

/** Login, refresh, MFA verify, step-up and passkey login. */
export interface TokenResponse {
  accessToken: string;
  /** Absent with the cookie transport: the refresh token is then only in an HttpOnly cookie. */
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Seconds until the refresh token (and the session, unless refreshed) expires. */
  refreshExpiresIn: number;
  sessionId: string;
  user: UserRef;
}

/** A token response as the cookie transport sends it (no refresh token in the body). */
export type CookieTokenResponse = Omit<TokenResponse, 'refreshToken'>;

/** Where the refresh token travels: the JSON body, or an HttpOnly cookie (browsers). */
export type RefreshTransport = 'body' | 'cookie';

/** A second factor the MFA challenge accepts. */
export type MfaMethod = 'totp' | 'recovery_code' | 'passkey';

/** The answer of a correct password when a second factor is on: no tokens yet. */
export interface MfaChallenge {
  mfaRequired: true;
  mfaToken: string;
  methods: MfaMethod[];
  /** Seconds the MFA token lives. */
  expiresIn: number;
}

/** The device a session was opened from. */
export interface Device {
  name: string;
  userAgent: string;
  ip: string;
}

/** One entry of `GET /auth/sessions`. */
export interface Session {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  device: Device;
  /** The caller's own session. */
  current: boolean;
}

/** Authentication assurance level: 1 = one factor, 2 = a second factor or a user-verified passkey. */
export type Aal = 1 | 2;

/** `GET /auth/me`. */
export interface MeResponse {
  user: User;
  session: { id: string; aal: Aal; amr: string[] };
}

/** `POST /auth/mfa/totp/enroll` (pending until confirmed). */
export interface TotpEnrollment {
  secret: string;
  otpauthUri: string;
  qrCodeSvg: string;
}

/** `POST /auth/mfa/totp/confirm` and `POST /auth/mfa/recovery-codes` (shown once). */
export interface RecoveryCodes {
  recoveryCodes: string[];
}

/** A registered passkey. */
export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** The kinds of `GET /auth/security-events` entries. */
export type SecurityEventType =
  | 'login_ok'
  | 'login_failed'
  | 'mfa_failed'
  | 'refresh_token_reused'
  | 'password_changed'
  | 'password_reset'
  | 'email_verified'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'recovery_codes_regenerated'
  | 'passkey_added'
  | 'passkey_removed'
  | 'session_revoked'
  | 'sessions_revoked'
  | 'account_disabled'
  | 'account_enabled';

/** One entry of the user's security activity (newest first, the last 100 at most). */
export interface SecurityEvent {
  type: SecurityEventType;
  at: string;
  ip: string;
  userAgent: string;
  deviceName: string;
  sessionId?: string;
}
