// The example browser client: cookie transport, silent refresh with a single-flight guard.
// No framework; `window.auth` is exposed for the browser test.
const API = window.AUTH_API_URL ?? 'http://localhost:3000';

let accessToken = null;
let expiresAt = 0;
let refreshTimer = null;
let inflight = null;

/** Calls the API; the refresh cookie travels only to /auth/refresh (its Path). */
async function api(path, { method = 'GET', body, auth = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'include',
  });
  return { status: response.status, body: await readBody(response) };
}

/**
 * The answer's body: parsed JSON, or the raw text when it is not JSON (a proxy's HTML error
 * page, say), or undefined when it is empty. Never throws on a malformed body, so callers can
 * still look at the status; `body?.error` is then simply undefined.
 */
async function readBody(response) {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function accept(tokens) {
  accessToken = tokens.accessToken;
  expiresAt = Date.now() + tokens.expiresIn * 1000;
  clearTimeout(refreshTimer);
  // Refresh a minute before expiry (or halfway for very short tokens).
  const lead = Math.min(60_000, (tokens.expiresIn * 1000) / 2);
  refreshTimer = setTimeout(() => refresh().catch(() => undefined), Math.max(1000, tokens.expiresIn * 1000 - lead));
}

/**
 * Silent refresh from the HttpOnly cookie. Single-flight: parallel calls in this tab share one
 * request, and the Web Locks API serializes refreshes across tabs, so one refresh token is
 * never presented twice at once (the server's grace interval is the second line of defence).
 */
function refresh() {
  inflight ??= (async () => {
    try {
      const result = navigator.locks
        ? await navigator.locks.request('serverless-auth-refresh', refreshRequest)
        : await refreshRequest();
      if (result.status !== 200) {
        accessToken = null;
        // The status travels with the error: logout() tells "no session left" (401) apart
        // from a refresh that merely did not get through (429, 5xx).
        throw Object.assign(new Error(result.body?.error ?? `refresh failed (${result.status})`), { status: result.status });
      }
      accept(result.body);
      return result.body;
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

async function refreshRequest() {
  // No body: the refresh token is the cookie. X-Requested-With is the CSRF header a
  // cross-site form cannot send; the server also checks Origin against its allowlist.
  const response = await fetch(`${API}/auth/refresh`, { method: 'POST', credentials: 'include', headers: { 'X-Requested-With': 'fetch' } });
  return { status: response.status, body: await readBody(response) };
}

let pendingMfa = null;

/**
 * Logs in. With a second factor on, the answer is a challenge instead of tokens: the caller
 * then asks for a code and calls {@link verifyMfa}.
 */
async function login(email, password) {
  const result = await api('/auth/login', { method: 'POST', auth: false, body: { email, password, transport: 'cookie', device: { name: deviceName() } } });
  if (result.status !== 200) throw new Error(result.body?.error ?? `login failed (${result.status})`);
  if (result.body.mfaRequired) {
    pendingMfa = result.body.mfaToken;
    return result.body;
  }
  accept(result.body);
  return result.body;
}

/** Finishes a login that answered a challenge, with a TOTP code or a recovery code. */
async function verifyMfa(code) {
  const body = /^\d{6}$/.test(code) ? { mfaToken: pendingMfa, code } : { mfaToken: pendingMfa, recoveryCode: code };
  const result = await api('/auth/mfa/verify', { method: 'POST', auth: false, body });
  if (result.status !== 200) throw new Error(result.body?.error ?? `verify failed (${result.status})`);
  pendingMfa = null;
  accept(result.body);
  return result.body;
}

async function enrollTotp() {
  const result = await api('/auth/mfa/totp/enroll', { method: 'POST' });
  if (result.status !== 200) throw new Error(result.body?.error ?? `enroll failed (${result.status})`);
  return result.body;
}

async function confirmTotp(code) {
  const result = await api('/auth/mfa/totp/confirm', { method: 'POST', body: { code } });
  if (result.status !== 200) throw new Error(result.body?.error ?? `confirm failed (${result.status})`);
  return result.body.recoveryCodes;
}

// ---- passkeys (WebAuthn, with @simplewebauthn/browser, loaded on first use) ----
const deviceName = () => (navigator.userAgent.includes('Headless') ? 'headless browser' : 'browser');

async function webauthn() {
  if (!window.SimpleWebAuthnBrowser) {
    await new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '/vendor/simplewebauthn-browser.js';
      script.onload = resolve;
      script.onerror = () => reject(new Error('could not load @simplewebauthn/browser'));
      document.head.append(script);
    });
  }
  return window.SimpleWebAuthnBrowser;
}

/** Registers a passkey of this device for the signed-in user (the browser asks the user to verify). */
async function addPasskey(name) {
  const options = await api('/auth/passkeys/register/options', { method: 'POST' });
  if (options.status !== 200) throw new Error(options.body?.error ?? `passkey options failed (${options.status})`);
  const { startRegistration } = await webauthn();
  const response = await startRegistration({ optionsJSON: options.body });
  const result = await api('/auth/passkeys/register', { method: 'POST', body: { response, name } });
  if (result.status !== 201) throw new Error(result.body?.error ?? `passkey registration failed (${result.status})`);
  return result.body.passkey;
}

/** Signs in with a discoverable passkey: no email, no password; the session is aal 2. */
async function passkeyLogin() {
  const options = await api('/auth/passkeys/login/options', { method: 'POST', auth: false, body: {} });
  if (options.status !== 200) throw new Error(options.body?.error ?? `passkey options failed (${options.status})`);
  const { startAuthentication } = await webauthn();
  const response = await startAuthentication({ optionsJSON: options.body });
  const result = await api('/auth/passkeys/login', { method: 'POST', auth: false, body: { challengeId: options.body.challengeId, response, transport: 'cookie', device: { name: deviceName() } } });
  if (result.status !== 200) throw new Error(result.body?.error ?? `passkey sign-in failed (${result.status})`);
  accept(result.body);
  return result.body;
}

async function passkeys() {
  const result = await api('/auth/passkeys');
  if (result.status !== 200) throw new Error(`passkeys failed (${result.status})`);
  return result.body.passkeys;
}

async function deletePasskey(id) {
  const result = await api(`/auth/passkeys/${encodeURIComponent(id)}`, { method: 'DELETE' });
  if (result.status !== 204) throw new Error(result.body?.error ?? `passkey removal failed (${result.status})`);
}

async function register(email, password) {
  const result = await api('/auth/register', { method: 'POST', auth: false, body: { email, password } });
  if (result.status !== 201) throw new Error(result.body?.error ?? `register failed (${result.status})`);
  return result.body;
}

/** Mails a reset link if the address has an account (the answer is the same either way). */
async function forgotPassword(email) {
  const result = await api('/auth/password/forgot', { method: 'POST', auth: false, body: { email } });
  if (result.status !== 202) throw new Error(result.body?.error ?? `forgot failed (${result.status})`);
}

/** Sets a new password with the token of a reset link; every session of the user ends. */
async function resetPassword(token, password) {
  const result = await api('/auth/password/reset', { method: 'POST', auth: false, body: { token, password } });
  if (result.status !== 204) throw new Error(result.body?.error ?? `reset failed (${result.status})`);
}

/** Confirms an address with the token of a verification (or email-change) link. */
async function verifyEmail(token) {
  const result = await api('/auth/email/verify', { method: 'POST', auth: false, body: { token } });
  if (result.status !== 200) throw new Error(result.body?.error ?? `verification failed (${result.status})`);
  return result.body.user;
}

/** Changes the password; this session stays, the others end. */
async function changePassword(currentPassword, newPassword) {
  const result = await api('/auth/password/change', { method: 'POST', body: { currentPassword, newPassword } });
  if (result.status !== 204) throw new Error(result.body?.error ?? `change failed (${result.status})`);
}

async function me() {
  const result = await api('/auth/me');
  if (result.status !== 200) throw new Error(`me failed (${result.status})`);
  return result.body;
}

async function sessions() {
  const result = await api('/auth/sessions');
  if (result.status !== 200) throw new Error(`sessions failed (${result.status})`);
  return result.body.sessions;
}

async function securityEvents() {
  const result = await api('/auth/security-events');
  if (result.status !== 200) throw new Error(`security events failed (${result.status})`);
  return result.body.events;
}

async function revoke(id) {
  return (await api(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' })).status;
}

/**
 * Ends this session (or, with `everywhere`, every session of the user) on the server.
 * The access token in memory may have expired or been rejected: the API then answers 401/403
 * and nothing is revoked, so the refresh cookie would log the user back in on reload. In that
 * case one silent refresh fetches a fresh access token and the logout is tried once more.
 * Resolves with 204 when the server revoked the session(s), or with 401 when the refresh
 * itself was refused (the refresh token is gone or revoked, so there is no session left).
 * Rejects in every other case: the session may still be alive, so the caller must not show
 * the user as logged out.
 */
async function logout(everywhere = false) {
  const path = everywhere ? '/auth/logout-all' : '/auth/logout';
  let status = (await api(path, { method: 'POST' })).status;
  if (status === 401 || status === 403) {
    try {
      await refresh(); // single-flight: shares a refresh already in progress
    } catch (error) {
      // 401 from /auth/refresh: no valid refresh token, hence no session to end.
      if (error.status === 401) {
        forget();
        return 401;
      }
      throw new Error(`logout failed: ${error.message}`);
    }
    status = (await api(path, { method: 'POST' })).status;
  }
  if (status !== 204) throw new Error(`logout failed (${status})`);
  forget();
  return status;
}

/** Drops the in-memory access token and stops the scheduled refresh. */
function forget() {
  accessToken = null;
  expiresAt = 0;
  clearTimeout(refreshTimer);
}

// ---- the page ----
const $ = (id) => document.getElementById(id);

function show(loggedIn) {
  $('login-panel').classList.toggle('hidden', loggedIn);
  $('app-panel').classList.toggle('hidden', !loggedIn);
  $('status').textContent = loggedIn ? 'Logged in' : 'Logged out';
  document.body.dataset.state = loggedIn ? 'logged-in' : 'logged-out';
}

async function render() {
  const profile = await me();
  $('me').textContent = JSON.stringify(profile, null, 2);
  $('expires').textContent = String(Math.round((expiresAt - Date.now()) / 1000));
  const [list, activity, keyList] = await Promise.all([sessions(), securityEvents(), passkeys()]);
  // Logged out while these were on their way: leave the page logged out.
  if (!accessToken) return;
  const rows = list.map((session) => {
    const row = document.createElement('tr');
    for (const text of [session.device.name || '(unnamed)', session.createdAt, session.lastUsedAt, session.device.ip]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const cell = document.createElement('td');
    if (session.current) cell.textContent = 'this device';
    else {
      const button = document.createElement('button');
      button.textContent = 'Revoke';
      button.onclick = async () => { await revoke(session.id); await render(); };
      cell.append(button);
    }
    row.append(cell);
    return row;
  });
  $('sessions').replaceChildren(...rows);
  const keys = keyList.map((passkey) => {
    const item = document.createElement('li');
    item.textContent = `${passkey.name} (added ${passkey.createdAt}, last used ${passkey.lastUsedAt ?? 'never'}) `;
    const button = document.createElement('button');
    button.textContent = 'Remove';
    button.dataset.passkeyDelete = passkey.id;
    button.onclick = async () => {
      try {
        await deletePasskey(passkey.id);
        await render();
      } catch (error) {
        $('notice').textContent = error.message;
      }
    };
    item.append(button);
    return item;
  });
  $('passkey-list').replaceChildren(...keys);
  // The security activity, newest first (the notices mailed to the user link to #security).
  const events = activity.map((event) => {
    const row = document.createElement('tr');
    for (const text of [event.type, event.at, event.ip, event.deviceName || event.userAgent]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  });
  $('security-events').replaceChildren(...events);
  show(true);
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const answer = await login($('email').value, $('password').value);
    if (answer.mfaRequired) {
      $('mfa-panel').classList.remove('hidden');
      document.body.dataset.state = 'mfa';
      return;
    }
    await render();
  } catch (error) {
    $('login-error').textContent = error.message;
  }
});
$('mfa-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('mfa-error').textContent = '';
  try {
    await verifyMfa($('mfa-code').value.trim());
    $('mfa-panel').classList.add('hidden');
    await render();
  } catch (error) {
    $('mfa-error').textContent = error.message;
  }
});
$('mfa-enroll').onclick = async () => {
  try {
    const enrollment = await enrollTotp();
    // The server's SVG, shown as an image (never injected as markup).
    const image = document.createElement('img');
    image.alt = 'QR code for your authenticator app';
    image.src = `data:image/svg+xml;base64,${btoa(enrollment.qrCodeSvg)}`;
    image.width = 180;
    $('mfa-qr').replaceChildren(image);
    $('mfa-secret').textContent = enrollment.secret;
    $('mfa-enrollment').classList.remove('hidden');
  } catch (error) {
    $('notice').textContent = error.message;
  }
};
$('mfa-confirm-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const codes = await confirmTotp($('mfa-confirm-code').value.trim());
    $('mfa-recovery-codes').textContent = codes.join('\n');
    $('mfa-enrollment').classList.add('hidden');
    $('mfa-recovery').classList.remove('hidden');
    $('notice').textContent = 'Two-factor authentication is on.';
  } catch (error) {
    $('notice').textContent = error.message;
  }
});
$('passkey-login').onclick = async () => {
  $('login-error').textContent = '';
  try {
    await passkeyLogin();
    await render();
  } catch (error) {
    $('login-error').textContent = error.message;
  }
};
$('add-passkey').onclick = async () => {
  try {
    await addPasskey('This browser');
    $('notice').textContent = 'Passkey added: you can sign in with it.';
    await render();
  } catch (error) {
    $('notice').textContent = error.message;
  }
};
$('register').onclick = async () => {
  $('login-error').textContent = '';
  try {
    await register($('email').value, $('password').value);
    $('login-error').textContent = 'Registered: now log in.';
  } catch (error) {
    $('login-error').textContent = error.message;
  }
};
$('forgot').onclick = async () => {
  $('login-error').textContent = '';
  try {
    await forgotPassword($('email').value);
    $('login-error').textContent = 'If an account has this address, a reset link is on its way.';
  } catch (error) {
    $('login-error').textContent = error.message;
  }
};
$('reset-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await resetPassword(pendingReset, $('reset-password').value);
    pendingReset = null;
    history.replaceState(null, '', location.pathname);
    $('reset-panel').classList.add('hidden');
    $('notice').textContent = 'Password reset: log in with the new one.';
  } catch (error) {
    $('notice').textContent = error.message;
  }
});
$('change-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await changePassword($('current-password').value, $('new-password').value);
    $('notice').textContent = 'Password changed; your other sessions were signed out.';
    await render();
  } catch (error) {
    $('notice').textContent = error.message;
  }
});
$('refresh').onclick = async () => { await refresh(); await render(); };
// Show "logged out" only once logout() confirms it; on failure the session may still be
// alive, so the page stays logged in and says why.
async function logoutClicked(everywhere) {
  try {
    await logout(everywhere);
    show(false);
  } catch (error) {
    $('status').textContent = `Still logged in: ${error.message}`;
  }
}
$('logout').onclick = () => logoutClicked(false);
$('logout-all').onclick = () => logoutClicked(true);

window.auth = { login, verifyMfa, addPasskey, passkeyLogin, passkeys, deletePasskey, enrollTotp, confirmTotp, register, refresh, me, sessions, securityEvents, revoke, logout, forgotPassword, resetPassword, verifyEmail, changePassword, get accessToken() { return accessToken; } };

// A mailed link lands here as #reset=<token> or #verify=<token> (EMAIL_VERIFY_URL, PASSWORD_RESET_URL).
let pendingReset = null;
function followLink() {
  const link = /^#(reset|verify)=(.+)$/.exec(location.hash);
  if (!link) return;
  const token = decodeURIComponent(link[2]);
  if (link[1] === 'reset') {
    pendingReset = token;
    $('reset-panel').classList.remove('hidden');
  } else {
    history.replaceState(null, '', location.pathname);
    verifyEmail(token).then(
      (user) => ($('notice').textContent = `Email ${user.email} confirmed.`),
      (error) => ($('notice').textContent = error.message),
    );
  }
}
followLink();
// A link opened in a tab already on this page changes only the hash.
window.addEventListener('hashchange', followLink);

// On load: a silent refresh from the cookie restores the session after a reload.
refresh().then(render).catch(() => show(false));
