import type {
  CookieTokenResponse,
  ErrorCode,
  MeResponse,
  MfaChallenge,
  MfaMethod,
  Passkey,
  RecoveryCodes,
  RefreshTransport,
  SecurityEvent,
  Session,
  TokenResponse,
  TotpEnrollment,
  User,
  UserRef,
} from './contract.js';

export type * from './contract.js';

/**
 * Where the body transport keeps the refresh token (memory by default). Called inside the
 * refresh lock, so it must be synchronous and quick, as `localStorage` is.
 */
export interface TokenStorage {
  get(): string | null;
  set(value: string): void;
  remove(): void;
}

export interface AuthClientOptions {
  /** The service's origin (and stage path, if any), e.g. `https://auth.example.com`. */
  baseUrl: string;
  /** `cookie` for browser apps on the API's site (the refresh token is then an HttpOnly cookie); default `body`. */
  transport?: RefreshTransport;
  /** Body transport only: where the refresh token lives; memory by default. */
  storage?: TokenStorage;
  /** The device name sessions are listed with (login, passkey login). */
  device?: { name?: string };
  /** Refresh this many seconds before the access token expires (default 60, at most half its lifetime). */
  refreshLeewaySeconds?: number;
  /** How long a tab waits for another tab's refresh before refreshing without the lock (default 10,000 ms). */
  lockTimeoutMs?: number;
  /** How long a refresh request may take (default 10,000 ms), so a lock is never held by a hung request. */
  requestTimeoutMs?: number;
  /** Name of the cross-tab lock and broadcast channel (default derived from `baseUrl`). */
  name?: string;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
}

/** Why the client is signed out: an explicit logout (here or in another tab), or the server ended the session. */
export type SignedOutReason = 'logout' | 'revoked' | 'reused' | 'expired';

export interface AuthEvents {
  signedIn: { user: UserRef; sessionId: string };
  refreshed: { user: UserRef; sessionId: string; expiresAt: number };
  signedOut: { reason: SignedOutReason };
}

export type AuthEventName = keyof AuthEvents;

export type LoginResult = { status: 'signedIn'; user: UserRef; sessionId: string } | { status: 'mfaRequired'; mfaToken: string; methods: MfaMethod[]; expiresIn: number };

/** A second factor for `mfa.verify`: a TOTP code, a recovery code, or a passkey (runs the WebAuthn ceremony). */
export type SecondFactor = { code: string } | { recoveryCode: string } | { passkey: true };

/** An answer of the service that is not a success, or a request that got no answer (`network_error`, `status` 0). */
export class AuthClientError extends Error {
  readonly code: ErrorCode | 'network_error' | 'unexpected_response';
  readonly status: number;
  /** Seconds, from `Retry-After` (429, 503). */
  readonly retryAfter: number | undefined;

  constructor(code: AuthClientError['code'], status: number, message: string, retryAfter?: number) {
    super(message);
    this.name = 'AuthClientError';
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** What a tab knows of its session; shared with the other tabs of the origin by broadcast. */
interface AuthState {
  accessToken: string;
  /** When the token response came, local clock, ms. */
  receivedAt: number;
  /** When the access token expires, local clock, ms. */
  expiresAt: number;
  /** When the session ends unless refreshed, local clock, ms. */
  refreshExpiresAt: number;
  sessionId: string;
  user: UserRef;
}

type Message = { type: 'state'; state: AuthState } | { type: 'signedOut'; sessionId?: string; userId?: string; reason: SignedOutReason };

/** How long a tab that finds the session refreshed by another tab waits for that tab's broadcast. */
const STATE_WAIT_MS = 1000;

interface LockManager {
  request<T>(name: string, options: { signal?: AbortSignal; mode?: 'shared' }, callback: () => Promise<T>): Promise<T>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

type Listener<K extends AuthEventName> = (event: AuthEvents[K]) => void;

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The contract's codes are snake_case; API Gateway's and proxies' bodies are not ours. */
const contractCode = (value: unknown): ErrorCode | undefined => (typeof value === 'string' && /^[a-z_]+$/.test(value) ? (value as ErrorCode) : undefined);

function memoryStorage(): TokenStorage {
  let value: string | null = null;
  return { get: () => value, set: (next) => void (value = next), remove: () => void (value = null) };
}

/**
 * The SDK. Each call is one route of the contract; `fetch` is the app's authenticated fetch.
 * Refreshes are single-flight per tab (one promise) and across tabs (`navigator.locks`, where
 * there is one), and a new state or a logout is broadcast to the other tabs (`BroadcastChannel`).
 */
export function createAuthClient(options: AuthClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const transport: RefreshTransport = options.transport ?? 'body';
  // With the cookie transport there is no refresh token a script could store.
  if (transport === 'cookie' && options.storage) throw new TypeError('createAuthClient: `storage` is for the body transport only.');
  const storage = options.storage ?? memoryStorage();
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const name = options.name ?? `serverless-auth:${base}`;
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  // A tab shares its session with the others only where they share the refresh token: the
  // cookie jar, or a storage the app chose (memory storage is this tab's own).
  const shared = transport === 'cookie' || options.storage !== undefined;
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;

  let state: AuthState | null = null;
  let inflight: Promise<AuthState | null> | null = null;
  const listeners: { [K in AuthEventName]: Set<Listener<K>> } = { signedIn: new Set(), refreshed: new Set(), signedOut: new Set() };

  // While this tab holds the refresh lock, events wait: an app's listener never runs under it.
  let holding = false;
  let pending: (() => void)[] = [];
  function emit<K extends AuthEventName>(type: K, event: AuthEvents[K]): void {
    if (holding) {
      pending.push(() => emit(type, event));
      return;
    }
    for (const listener of [...listeners[type]]) {
      try {
        listener(event);
      } catch (error) {
        // An app's listener never breaks the client; report it without throwing.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  // Tabs of one origin share a channel. Outside a browser (Node has BroadcastChannel too) every
  // client of the process would share it, and one user's client could take another's session:
  // there, only clients given the same `name` share state.
  const inBrowser = (globalThis as { document?: unknown }).document !== undefined;
  const channel = typeof BroadcastChannel === 'function' && (inBrowser || options.name !== undefined) ? new BroadcastChannel(name) : undefined;
  // Node: a channel must not keep the process alive.
  (channel as { unref?: () => void } | undefined)?.unref?.();
  const stateWaiters: (() => void)[] = [];
  const post = (message: Message) => {
    try {
      channel?.postMessage(message);
    } catch {
      // closed
    }
  };
  if (channel) {
    channel.onmessage = (event: { data: Message }) => {
      const message = event.data;
      if (message.type === 'state') {
        const next = message.state;
        if (!(state?.sessionId === next.sessionId || (shared && !state))) return;
        const first = !state;
        if (state && state.expiresAt >= next.expiresAt) return;
        state = next;
        for (const waiter of stateWaiters.splice(0)) waiter();
        if (first) emit('signedIn', { user: next.user, sessionId: next.sessionId });
        else emit('refreshed', { user: next.user, sessionId: next.sessionId, expiresAt: next.expiresAt });
      } else if (message.type === 'signedOut' && state && (message.sessionId === state.sessionId || message.userId === state.user.id)) {
        state = null;
        emit('signedOut', { reason: message.reason });
      }
    };
  }

  function url(path: string): string {
    return `${base}${path}`;
  }

  /** One request to the service; the answer's JSON, or an AuthClientError. */
  async function call<T>(method: string, path: string, init: { body?: unknown; token?: string | null; credentials?: boolean; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<T> {
    const headers: Record<string, string> = { ...(init.body === undefined ? {} : JSON_HEADERS), ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let response: Response;
    try {
      response = await doFetch(url(path), {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        // Only the cookie transport needs the cookie, and only on the routes that set or read it.
        ...(transport === 'cookie' && init.credentials ? { credentials: 'include' as const } : {}),
        ...(init.timeoutMs ? { signal: AbortSignal.timeout(init.timeoutMs) } : {}),
      });
    } catch (error) {
      throw new AuthClientError('network_error', 0, `The service could not be reached: ${(error as Error).message}`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) return body as T;
    const error = body as { error?: unknown; message?: string } | undefined;
    const code = contractCode(error?.error);
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new AuthClientError(
      // No code of ours: API Gateway's own answer (a refused or missing token), or a proxy's.
      code ?? (response.status === 401 || response.status === 403 ? 'invalid_token' : 'unexpected_response'),
      response.status,
      error?.message ?? `HTTP ${response.status}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }

  /** Takes a token response as this tab's state; the events go out after the lock is released. */
  function accept(tokens: TokenResponse | CookieTokenResponse, options: { keepRefreshToken?: boolean } = {}): AuthState {
    if (transport === 'body' && 'refreshToken' in tokens && options.keepRefreshToken !== false) storage.set(tokens.refreshToken);
    const now = Date.now();
    state = { accessToken: tokens.accessToken, receivedAt: now, expiresAt: now + tokens.expiresIn * 1000, refreshExpiresAt: now + tokens.refreshExpiresIn * 1000, sessionId: tokens.sessionId, user: tokens.user };
    post({ type: 'state', state });
    return state;
  }

  function signIn(tokens: TokenResponse | CookieTokenResponse): LoginResult {
    const next = accept(tokens);
    emit('signedIn', { user: next.user, sessionId: next.sessionId });
    return { status: 'signedIn', user: next.user, sessionId: next.sessionId };
  }

  /** Forgets the session here and in the other tabs; tells the app when it was signed in. */
  function signOut(reason: SignedOutReason, scope: { sessionId?: string; userId?: string } = {}, wasSignedIn = state !== null): void {
    const sessionId = scope.sessionId ?? state?.sessionId;
    state = null;
    releaseMark?.();
    if (transport === 'body') storage.remove();
    post({ type: 'signedOut', reason, ...(scope.userId ? { userId: scope.userId } : { sessionId }) });
    if (wasSignedIn) emit('signedOut', { reason });
  }

  const leewayMs = (current: AuthState) => Math.min((options.refreshLeewaySeconds ?? 60) * 1000, (current.expiresAt - current.receivedAt) / 2);
  const fresh = (current: AuthState | null, minExpiresAt = 0): current is AuthState =>
    current !== null && current.expiresAt > minExpiresAt && current.expiresAt - Date.now() > 1000;

  /**
   * The broadcast of a new state and the lock's next grant travel separately, so a tab that
   * takes the lock may not have the new state yet. Where there are Web Locks, the refreshing tab
   * leaves a mark in the lock manager itself before it lets go of the refresh lock: a shared lock
   * named after the session and the new token's expiry (no secret), held until its next
   * refresh or until the tab closes. The next tab to get the lock sees the mark and waits for the
   * broadcast instead of refreshing again.
   */
  let releaseMark: (() => void) | undefined;
  const markPrefix = `${name}:refreshed:`;
  async function markRefreshed(next: AuthState): Promise<void> {
    if (!locks || !shared) return;
    releaseMark?.();
    await new Promise<void>((granted) => {
      void locks
        .request(`${markPrefix}${next.sessionId}:${next.expiresAt}`, { mode: 'shared' }, () => {
          granted();
          return new Promise<void>((release) => (releaseMark = release));
        })
        .catch(() => granted());
    });
  }

  /** Whether another tab left the mark of a newer token of this tab's session. */
  async function refreshedElsewhere(stale: AuthState | null): Promise<boolean> {
    if (!locks || !stale) return false;
    try {
      const { held = [] } = await locks.query();
      return held.some((lock) => {
        const [sessionId, expiresAt] = (lock.name?.startsWith(markPrefix) ? lock.name.slice(markPrefix.length) : '').split(':');
        return sessionId === stale?.sessionId && Number(expiresAt) > stale.expiresAt && Number(expiresAt) - Date.now() > 1000;
      });
    } catch {
      return false;
    }
  }

  /**
   * The refresh itself, run by one tab at a time. After the lock is taken, the shared state is
   * read again: a token another tab got meanwhile is used, not refreshed again.
   */
  async function refreshLocked(stale: AuthState | null, storedBefore: string | null): Promise<AuthState | null> {
    holding = true;
    try {
      return await refreshHeld(stale, storedBefore);
    } finally {
      holding = false;
    }
  }

  async function refreshHeld(stale: AuthState | null, storedBefore: string | null): Promise<AuthState | null> {
    // Let a broadcast sent just before the lock was released land first.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const gotNewer = () => state !== null && state !== stale && fresh(state, stale?.expiresAt);
    if (gotNewer()) return state;
    let storedToken = transport === 'body' ? storage.get() : null;
    const rotatedElsewhere = shared && ((transport === 'body' && storedToken !== storedBefore && storedToken !== null) || (await refreshedElsewhere(stale)));
    if (rotatedElsewhere && !gotNewer()) {
      // Another tab refreshed while this one waited for the lock: its broadcast is on the way.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STATE_WAIT_MS);
        stateWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (gotNewer()) return state;
      storedToken = storage.get();
    }
    if (transport === 'body' && !storedToken) return null;
    try {
      const tokens = await call<TokenResponse | CookieTokenResponse>('POST', '/auth/refresh', {
        ...(transport === 'body' ? { body: { refreshToken: storedToken } } : { credentials: true, headers: { 'x-requested-with': 'fetch' } }),
        timeoutMs: requestTimeoutMs,
      });
      const wasSignedIn = state !== null || stale !== null;
      const next = accept(tokens);
      await markRefreshed(next);
      if (wasSignedIn) emit('refreshed', { user: next.user, sessionId: next.sessionId, expiresAt: next.expiresAt });
      else emit('signedIn', { user: next.user, sessionId: next.sessionId });
      return next;
    } catch (error) {
      if (error instanceof AuthClientError && (error.code === 'invalid_token' || error.code === 'token_reused' || error.code === 'account_disabled')) {
        // The session is over (a cookie transport with no cookie lands here too).
        if (!state && !stale) {
          if (transport === 'body') storage.remove();
          return null;
        }
        const was = (state ?? stale)!;
        // invalid_token: the session ran out (idle or absolute deadline), or something ended it.
        const reason: SignedOutReason = error.code === 'token_reused' ? 'reused' : error.code === 'invalid_token' && Date.now() >= was.refreshExpiresAt ? 'expired' : 'revoked';
        signOut(reason, { sessionId: was.sessionId }, true);
        return null;
      }
      throw error;
    }
  }

  /**
   * Refreshes the session (single flight: concurrent calls share one refresh, in this tab and
   * across tabs). Resolves with the new state, or null when there is no session to refresh.
   */
  function refreshState(): Promise<AuthState | null> {
    if (inflight) return inflight;
    const stale = state;
    const storedBefore = transport === 'body' ? storage.get() : null;
    inflight = (async () => {
      try {
        const run = () => refreshLocked(stale, storedBefore);
        let outcome: AuthState | null;
        if (locks) {
          try {
            outcome = await locks.request(name, { signal: AbortSignal.timeout(lockTimeoutMs) }, run);
          } catch (error) {
            // Waited too long (a stuck tab): refresh without the lock; the server's grace
            // interval covers a concurrent refresh.
            if ((error as Error).name !== 'TimeoutError' && (error as Error).name !== 'AbortError') throw error;
            outcome = await run();
          }
        } else outcome = await run();
        return outcome;
      } finally {
        inflight = null;
        // The app hears of it only now, with the lock released; a failed refresh's events too
        // (a logout another tab broadcast meanwhile), never held for a later refresh.
        const events = pending;
        pending = [];
        for (const event of events) event();
      }
    })();
    return inflight;
  }

  /** A valid access token (refreshed first when it expires soon), or null when signed out. */
  async function getAccessToken(): Promise<string | null> {
    const current = state;
    if (inflight) {
      try {
        return (await inflight)?.accessToken ?? null;
      } catch (error) {
        // The refresh another request started did not get through (429, 503, offline): the token still works.
        if (current && state === current && fresh(current)) return current.accessToken;
        throw error;
      }
    }
    if (current && current.expiresAt - Date.now() > leewayMs(current) + 1000) return current.accessToken;
    if (!current && transport === 'body' && !storage.get()) return null;
    try {
      return (await refreshState())?.accessToken ?? null;
    } catch (error) {
      // An early refresh that did not get through (429, 503, offline): the token still works.
      if (current && state === current && fresh(current)) return current.accessToken;
      throw error;
    }
  }

  /** An authenticated route of the service: the access token attached, one refresh and retry after a 401. */
  async function authed<T>(method: string, path: string, init: { body?: unknown; credentials?: boolean } = {}): Promise<T> {
    const token = await getAccessToken();
    if (!token) throw new AuthClientError('invalid_token', 401, 'Not signed in.');
    try {
      return await call<T>(method, path, { ...init, token });
    } catch (error) {
      // Only a refused token is worth a refresh: a wrong password or code (401 invalid_credentials,
      // invalid_code) is the caller's answer, and sending it again would count it twice.
      if (!(error instanceof AuthClientError) || error.code !== 'invalid_token') throw error;
      const retry = await tokenAfterRejection(token);
      if (!retry) throw error;
      return call<T>(method, path, { ...init, token: retry });
    }
  }

  /** After the server refused `token`: a newer one (another request's refresh, or a refresh of our own). */
  async function tokenAfterRejection(token: string): Promise<string | null> {
    if (state && state.accessToken !== token) return state.accessToken;
    return (await refreshState())?.accessToken ?? null;
  }

  /**
   * API Gateway's answer when the Lambda authorizer refuses the token: a 403 without one of the
   * contract's codes (`{"message":"Forbidden"}`; serverless-offline adds `"error":"Forbidden"`).
   */
  async function isGatewayDenial(response: Response): Promise<boolean> {
    try {
      return !contractCode((JSON.parse(await response.clone().text()) as { error?: unknown }).error);
    } catch {
      return false;
    }
  }

  /** The app's authenticated fetch: the access token attached, refreshed shortly before expiry, one retry after a 401. */
  async function authFetch(input: Request | string | URL, init: RequestInit = {}): Promise<Response> {
    // A Request body can be read once: keep a copy for the retry.
    const request = new Request(input, init);
    const retryable = request.clone();
    const send = (req: Request, token: string | null) => {
      if (token) req.headers.set('authorization', `Bearer ${token}`);
      return doFetch(req);
    };
    const token = await getAccessToken();
    const response = await send(request, token);
    if (!token || !(response.status === 401 || (response.status === 403 && (await isGatewayDenial(response))))) return response;
    const retry = await tokenAfterRejection(token);
    if (!retry) return response;
    return send(retryable, retry);
  }

  const device = () => (options.device ? { device: options.device } : {});
  // Always said: a server whose REFRESH_TOKEN_TRANSPORT default is the other one must not decide.
  const loginTransport = () => ({ transport });

  function loginAnswer(answer: TokenResponse | CookieTokenResponse | MfaChallenge): LoginResult {
    if ('mfaRequired' in answer) return { status: 'mfaRequired', mfaToken: answer.mfaToken, methods: answer.methods, expiresIn: answer.expiresIn };
    return signIn(answer);
  }

  /** The WebAuthn browser half, loaded only by the passkey calls. */
  const webauthn = () => import('@simplewebauthn/browser');
  /** Request options answers are the WebAuthn options with a `challengeId` next to them. */
  function splitOptions(answer: Record<string, unknown>): { challengeId: string; optionsJSON: any } {
    const { challengeId, ...optionsJSON } = answer;
    return { challengeId: challengeId as string, optionsJSON };
  }

  async function passkeyAssertion(answer: Record<string, unknown>) {
    const { startAuthentication } = await webauthn();
    const { challengeId, optionsJSON } = splitOptions(answer);
    return { challengeId, response: await startAuthentication({ optionsJSON }) };
  }

  async function logoutCall(path: '/auth/logout' | '/auth/logout-all'): Promise<void> {
    const was = state;
    try {
      if (was || transport === 'cookie' || storage.get()) await authed<void>('POST', path, { credentials: true });
    } catch (error) {
      // No session left to end (refused token, refresh refused): signed out all the same.
      if (!(error instanceof AuthClientError) || error.code !== 'invalid_token') throw error;
    }
    const user = (state ?? was)?.user;
    signOut('logout', path === '/auth/logout-all' && user ? { userId: user.id } : { sessionId: (state ?? was)?.sessionId }, (state ?? was) !== null);
  }

  return {
    /** `POST /auth/register` → the new user (not signed in). */
    register: (input: { email: string; password: string }) => call<{ user: User }>('POST', '/auth/register', { body: input }).then((answer) => answer.user),
    /** `POST /auth/login`: signed in, or an MFA challenge to answer with `mfa.verify`. */
    login: async (input: { email: string; password: string; device?: { name?: string } }): Promise<LoginResult> =>
      loginAnswer(await call('POST', '/auth/login', { body: { ...device(), ...input, ...loginTransport() }, credentials: true })),
    /** Refreshes now (single flight); resolves false when there is no session. */
    refresh: async (): Promise<boolean> => (await refreshState()) !== null,
    /** Ends this session (here and in the other tabs). */
    logout: () => logoutCall('/auth/logout'),
    /** Ends every session of the user. */
    logoutAll: () => logoutCall('/auth/logout-all'),
    /** `GET /auth/me`. */
    me: () => authed<MeResponse>('GET', '/auth/me'),
    fetch: authFetch,
    getAccessToken,
    /** The signed-in user as this tab knows it, or null. */
    get user(): UserRef | null {
      return state?.user ?? null;
    },
    /** When the access token expires (ms since the epoch), or null. */
    get expiresAt(): number | null {
      return state?.expiresAt ?? null;
    },
    /** Subscribes to auth state changes; returns the unsubscribe function. */
    on<K extends AuthEventName>(type: K, listener: Listener<K>): () => void {
      listeners[type].add(listener);
      return () => void listeners[type].delete(listener);
    },
    sessions: {
      list: () => authed<{ sessions: Session[] }>('GET', '/auth/sessions').then((answer) => answer.sessions),
      /** Revokes one session of the caller's; revoking the current one is a logout. */
      revoke: async (id: string): Promise<void> => {
        const current = state?.sessionId === id;
        await authed<void>('DELETE', `/auth/sessions/${encodeURIComponent(id)}`, { credentials: true });
        if (current) signOut('logout');
      },
    },
    email: {
      /** Mails a new verification link to the signed-in user. */
      requestVerification: () => authed<void>('POST', '/auth/email/verify/request'),
      /** Confirms an address with the token of a mailed link. */
      verify: (token: string) => call<{ user: User }>('POST', '/auth/email/verify', { body: { token } }).then((answer) => answer.user),
      resendVerification: (email: string) => call<void>('POST', '/auth/email/verify/resend', { body: { email } }),
      /** Mails a confirmation link to the new address (needs the password). */
      change: (input: { newEmail: string; password: string }) => authed<void>('POST', '/auth/email/change', { body: input }),
    },
    password: {
      forgot: (email: string) => call<void>('POST', '/auth/password/forgot', { body: { email } }),
      /** Sets a new password with a reset link's token; every session of the user ends. */
      reset: (input: { token: string; password: string }) => call<void>('POST', '/auth/password/reset', { body: input }),
      /** Keeps this session, ends the others. */
      change: (input: { currentPassword: string; newPassword: string }) => authed<void>('POST', '/auth/password/change', { body: input }),
    },
    account: {
      /** Deletes the account and every session of it; signed out after. */
      delete: async (input: { password: string }): Promise<void> => {
        await authed<void>('DELETE', '/auth/account', { body: input, credentials: true });
        signOut('logout', state ? { userId: state.user.id } : {});
      },
    },
    mfa: {
      /** Answers a login's MFA challenge; signs in. */
      verify: async (mfaToken: string, factor: SecondFactor): Promise<LoginResult> => {
        const body = 'passkey' in factor ? { mfaToken, passkey: await passkeyAssertion(await call('POST', '/auth/mfa/passkey/options', { body: { mfaToken } })) } : { mfaToken, ...factor };
        return signIn(await call('POST', '/auth/mfa/verify', { body, credentials: true }));
      },
      /** Renews `aal` 2 for this session (sudo mode) with a code or a recovery code. */
      stepUp: async (factor: { code: string } | { recoveryCode: string }): Promise<void> => {
        // The session's refresh token is not rotated by a step-up, and another tab may have
        // rotated it meanwhile: the answer's copy is not kept (body), and no cookie is taken (no
        // credentials), so a newer token is never overwritten by an older one.
        const next = accept(await authed<TokenResponse | CookieTokenResponse>('POST', '/auth/mfa/step-up', { body: factor }), { keepRefreshToken: false });
        emit('refreshed', { user: next.user, sessionId: next.sessionId, expiresAt: next.expiresAt });
      },
      totp: {
        enroll: () => authed<TotpEnrollment>('POST', '/auth/mfa/totp/enroll'),
        /** Turns TOTP on; the recovery codes are shown once. The user's other sessions end. */
        confirm: (code: string) => authed<RecoveryCodes>('POST', '/auth/mfa/totp/confirm', { body: { code } }).then((answer) => answer.recoveryCodes),
        disable: (code: string) => authed<void>('DELETE', '/auth/mfa/totp', { body: { code } }),
      },
      /** New recovery codes (the old ones die). */
      regenerateRecoveryCodes: () => authed<RecoveryCodes>('POST', '/auth/mfa/recovery-codes').then((answer) => answer.recoveryCodes),
    },
    passkeys: {
      /** Registers a passkey for the signed-in user (runs the browser's WebAuthn ceremony). */
      register: async (input: { name?: string } = {}): Promise<Passkey> => {
        const { startRegistration } = await webauthn();
        const answer = await authed<Record<string, unknown>>('POST', '/auth/passkeys/register/options');
        const response = await startRegistration({ optionsJSON: (answer.options ?? answer) as any });
        return (await authed<{ passkey: Passkey }>('POST', '/auth/passkeys/register', { body: { response, ...input } })).passkey;
      },
      list: () => authed<{ passkeys: Passkey[] }>('GET', '/auth/passkeys').then((answer) => answer.passkeys),
      remove: (id: string) => authed<void>('DELETE', `/auth/passkeys/${encodeURIComponent(id)}`),
      /** Signs in with a passkey (discoverable when no email is given). */
      login: async (input: { email?: string; device?: { name?: string } } = {}): Promise<LoginResult> => {
        const assertion = await passkeyAssertion(await call('POST', '/auth/passkeys/login/options', { body: input.email ? { email: input.email } : {} }));
        const body = { ...assertion, ...device(), ...(input.device ? { device: input.device } : {}), ...loginTransport() };
        return signIn(await call('POST', '/auth/passkeys/login', { body, credentials: true }));
      },
    },
    securityEvents: {
      /** The user's security activity, newest first. */
      list: () => authed<{ events: SecurityEvent[] }>('GET', '/auth/security-events').then((answer) => answer.events),
    },
    /** Stops listening to the other tabs. */
    close: () => channel?.close(),
  };
}

export type AuthClient = ReturnType<typeof createAuthClient>;
