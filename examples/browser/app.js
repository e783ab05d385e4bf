// The example browser client, built on the SDK (@serverless-auth/client, served from
// client/dist): cookie transport, so the refresh token is an HttpOnly cookie this page cannot
// read and the access token lives in the SDK's memory. The SDK refreshes once across tabs and
// tells every tab of a sign-in or a logout. No framework; `window.auth` is the SDK client
// (the browser tests drive it).
import { createAuthClient } from '/sdk/index.js';

const auth = createAuthClient({
  baseUrl: window.AUTH_API_URL ?? 'http://localhost:3000',
  transport: 'cookie',
  device: { name: navigator.userAgent.includes('Headless') ? 'headless browser' : 'browser' },
});
window.auth = auth;

const $ = (id) => document.getElementById(id);
/** What the page shows of an error: the contract's code when there is one. */
const describe = (error) => error?.code ?? error?.message ?? String(error);

function show(loggedIn) {
  $('login-panel').classList.toggle('hidden', loggedIn);
  $('app-panel').classList.toggle('hidden', !loggedIn);
  if (!loggedIn) $('mfa-panel').classList.add('hidden');
  $('status').textContent = loggedIn ? 'Logged in' : 'Logged out';
  document.body.dataset.state = loggedIn ? 'logged-in' : 'logged-out';
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

async function renderSessions() {
  const rows = (await auth.sessions.list()).map((session) => {
    const row = document.createElement('tr');
    row.append(cell(session.device.name || '(unnamed)'), cell(session.createdAt), cell(session.lastUsedAt), cell(session.device.ip));
    const actions = document.createElement('td');
    if (session.current) actions.textContent = 'this device';
    else {
      const button = document.createElement('button');
      button.textContent = 'Revoke';
      button.onclick = async () => {
        await auth.sessions.revoke(session.id);
        await render();
      };
      actions.append(button);
    }
    row.append(actions);
    return row;
  });
  $('sessions').replaceChildren(...rows);
}

/** Passkeys and security activity: shown where the service offers them. */
async function renderPasskeys() {
  try {
    const items = (await auth.passkeys.list()).map((passkey) => {
      const item = document.createElement('li');
      item.textContent = `${passkey.name || '(unnamed)'} · added ${passkey.createdAt} `;
      const remove = document.createElement('button');
      remove.textContent = 'Remove';
      remove.dataset.passkeyDelete = passkey.id;
      remove.onclick = async () => {
        try {
          await auth.passkeys.remove(passkey.id);
          await renderPasskeys();
        } catch (error) {
          $('notice').textContent = describe(error);
        }
      };
      item.append(remove);
      return item;
    });
    $('passkey-list').replaceChildren(...items);
  } catch {
    $('passkey-list').replaceChildren();
  }
}

async function renderSecurityEvents() {
  try {
    const items = (await auth.securityEvents.list()).map((event) => {
      const item = document.createElement('li');
      item.textContent = `${event.at} · ${event.type} · ${event.deviceName || event.userAgent || ''} · ${event.ip}`;
      item.dataset.type = event.type;
      return item;
    });
    $('security-events').replaceChildren(...items);
  } catch {
    $('security-events').replaceChildren();
  }
}

async function render() {
  const profile = await auth.me();
  $('me').textContent = JSON.stringify(profile, null, 2);
  $('expires').textContent = String(Math.round(((auth.expiresAt ?? Date.now()) - Date.now()) / 1000));
  await renderSessions();
  show(true);
  await Promise.all([renderPasskeys(), renderSecurityEvents()]);
}

// Auth state from the SDK, this tab's or another tab's: the page follows it.
auth.on('signedIn', () => render().catch(() => undefined));
auth.on('refreshed', () => {
  $('expires').textContent = String(Math.round(((auth.expiresAt ?? Date.now()) - Date.now()) / 1000));
});
auth.on('signedOut', (event) => {
  show(false);
  if (event.reason !== 'logout') $('notice').textContent = `Signed out (${event.reason}).`;
});

let pendingMfa = null;

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const result = await auth.login({ email: $('email').value, password: $('password').value });
    if (result.status === 'mfaRequired') {
      pendingMfa = result.mfaToken;
      $('mfa-panel').classList.remove('hidden');
      document.body.dataset.state = 'mfa';
    }
  } catch (error) {
    $('login-error').textContent = describe(error);
  }
});
$('mfa-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('mfa-error').textContent = '';
  const code = $('mfa-code').value.trim();
  try {
    await auth.mfa.verify(pendingMfa, /^\d{6}$/.test(code) ? { code } : { recoveryCode: code });
    pendingMfa = null;
    $('mfa-panel').classList.add('hidden');
  } catch (error) {
    $('mfa-error').textContent = describe(error);
  }
});
$('passkey-login').onclick = async () => {
  $('login-error').textContent = '';
  try {
    await auth.passkeys.login();
  } catch (error) {
    $('login-error').textContent = describe(error);
  }
};
$('add-passkey').onclick = async () => {
  try {
    const passkey = await auth.passkeys.register({ name: 'this browser' });
    $('notice').textContent = `Passkey "${passkey.name}" added.`;
    await renderPasskeys();
  } catch (error) {
    $('notice').textContent = describe(error);
  }
};
$('mfa-enroll').onclick = async () => {
  try {
    const enrollment = await auth.mfa.totp.enroll();
    // The server's SVG, shown as an image (never injected as markup).
    const image = document.createElement('img');
    image.alt = 'QR code for your authenticator app';
    image.src = `data:image/svg+xml;base64,${btoa(enrollment.qrCodeSvg)}`;
    image.width = 180;
    $('mfa-qr').replaceChildren(image);
    $('mfa-secret').textContent = enrollment.secret;
    $('mfa-enrollment').classList.remove('hidden');
  } catch (error) {
    $('notice').textContent = describe(error);
  }
};
$('mfa-confirm-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const codes = await auth.mfa.totp.confirm($('mfa-confirm-code').value.trim());
    $('mfa-recovery-codes').textContent = codes.join('\n');
    $('mfa-enrollment').classList.add('hidden');
    $('mfa-recovery').classList.remove('hidden');
    $('notice').textContent = 'Two-factor authentication is on.';
  } catch (error) {
    $('notice').textContent = describe(error);
  }
});
$('register').onclick = async () => {
  $('login-error').textContent = '';
  try {
    await auth.register({ email: $('email').value, password: $('password').value });
    $('login-error').textContent = 'Registered: now log in.';
  } catch (error) {
    $('login-error').textContent = describe(error);
  }
};
$('forgot').onclick = async () => {
  $('login-error').textContent = '';
  try {
    await auth.password.forgot($('email').value);
    $('login-error').textContent = 'If an account has this address, a reset link is on its way.';
  } catch (error) {
    $('login-error').textContent = describe(error);
  }
};
$('reset-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await auth.password.reset({ token: pendingReset, password: $('reset-password').value });
    pendingReset = null;
    history.replaceState(null, '', location.pathname);
    $('reset-panel').classList.add('hidden');
    $('notice').textContent = 'Password reset: log in with the new one.';
  } catch (error) {
    $('notice').textContent = describe(error);
  }
});
$('change-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    await auth.password.change({ currentPassword: $('current-password').value, newPassword: $('new-password').value });
    $('notice').textContent = 'Password changed; your other sessions were signed out.';
    await render();
  } catch (error) {
    $('notice').textContent = describe(error);
  }
});
$('refresh').onclick = async () => {
  await auth.refresh();
  await render();
};
// The page shows "logged out" when the SDK says so (signedOut); a logout that fails leaves the
// session alive, so the page stays logged in and says why.
async function logoutClicked(everywhere) {
  try {
    await (everywhere ? auth.logoutAll() : auth.logout());
  } catch (error) {
    $('status').textContent = `Still logged in: ${describe(error)}`;
  }
}
$('logout').onclick = () => logoutClicked(false);
$('logout-all').onclick = () => logoutClicked(true);

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
    auth.email.verify(token).then(
      (user) => ($('notice').textContent = `Email ${user.email} confirmed.`),
      (error) => ($('notice').textContent = describe(error)),
    );
  }
}
followLink();
// A link opened in a tab already on this page changes only the hash.
window.addEventListener('hashchange', followLink);

// On load: a silent refresh from the cookie restores the session after a reload (signedIn
// then renders the page); without a session the page shows the login form.
auth.refresh().then(
  (signedIn) => signedIn || show(false),
  () => show(false),
);
