import type { MailMessage } from './mailer';

/**
 * The mails of the account lifecycle. Each names its action and, where a link is in it, how
 * long the link works; the link is the only secret a mail ever carries. Text and HTML parts
 * say the same thing; the HTML escapes everything it interpolates.
 */
const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? '' : 's'}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  if (seconds % 60 === 0) return `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

function withLink(to: string, subject: string, lines: string[], action: string, link: string, expiresInSeconds: number, footer: string): MailMessage {
  const expires = `This link works once, for ${duration(expiresInSeconds)}.`;
  return {
    to,
    subject,
    text: [...lines, '', `${action}: ${link}`, '', expires, footer].join('\n'),
    html: [
      ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
      `<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>`,
      `<p>${escapeHtml(expires)} ${escapeHtml(footer)}</p>`,
    ].join('\n'),
  };
}

function notice(to: string, subject: string, lines: string[]): MailMessage {
  return { to, subject, text: lines.join('\n'), html: lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n') };
}

/** Where and when a security notice's event happened, and where the user reviews it. */
export interface SecurityNoticeDetails {
  /** ISO 8601. */
  at: string;
  ip: string;
  userAgent: string;
  deviceName: string;
  /** SECURITY_PAGE_URL ('' = no link). */
  securityPageUrl: string;
}

/** Subject, what happened, and what to do, per notice (lib/security/notices.ts). */
const SECURITY_NOTICES: Record<string, { subject: string; what: string; todo: string }> = {
  new_device: {
    subject: 'New sign-in to your account',
    what: 'Your account was signed in to from a device (network address) not seen on it before.',
    todo: 'If this was you, there is nothing to do. If not, change your password now and sign out the sessions you do not know.',
  },
  refresh_token_reused: {
    subject: 'A stolen sign-in may have been used',
    what: 'A sign-in token of your account that had already been replaced was presented again, which happens when a token is copied. That session was signed out.',
    todo: 'Sign in again on your devices. If you see sessions you do not know, sign them out and change your password.',
  },
  password_changed: {
    subject: 'Your password was changed',
    what: 'The password of your account was just changed, and your other sessions were signed out.',
    todo: 'If this was not you, reset your password now and review your sessions.',
  },
  password_reset: {
    subject: 'Your password was changed (reset by mail)',
    what: 'The password of your account was just reset through a mailed link, and every session was signed out.',
    todo: 'If this was not you, reset your password again now and check that your email account is safe.',
  },
  mfa_enabled: {
    subject: 'Two-step sign-in was turned on',
    what: 'An authenticator app was set up as a second factor on your account.',
    todo: 'If this was not you, reset your password now and contact support.',
  },
  mfa_disabled: {
    subject: 'Two-step sign-in was turned off',
    what: 'The authenticator app was removed from your account: it no longer asks for a second factor.',
    todo: 'If this was not you, reset your password now and set up two-step sign-in again.',
  },
  passkey_added: {
    subject: 'A passkey was added to your account',
    what: 'A new passkey can now sign in to your account.',
    todo: 'If this was not you, remove the passkey on your security page and change your password now.',
  },
};

export const mails = {
  /** A security notice (what happened, when, from where, what to do, the security page). */
  securityNotice: (to: string, kind: string, details: SecurityNoticeDetails): MailMessage => {
    const entry = SECURITY_NOTICES[kind] ?? { subject: 'Security activity on your account', what: 'Something changed on your account.', todo: 'Review your security page.' };
    const device = [details.deviceName, details.userAgent].filter(Boolean).join(', ') || 'unknown device';
    const lines = [entry.what, `When: ${details.at}`, `From: ${details.ip || 'unknown address'} (${device})`, entry.todo];
    const message = notice(to, entry.subject, lines);
    if (!details.securityPageUrl) return message;
    return {
      ...message,
      text: `${message.text}\n\nReview your security activity: ${details.securityPageUrl}`,
      html: `${message.html}\n<p><a href="${escapeHtml(details.securityPageUrl)}">Review your security activity</a></p>`,
    };
  },

  verifyEmail: (to: string, link: string, expiresInSeconds: number) =>
    withLink(to, 'Confirm your email address', ['Confirm that this address is yours.'], 'Confirm my email address', link, expiresInSeconds, 'If you did not create an account, ignore this mail.'),

  confirmNewEmail: (to: string, link: string, expiresInSeconds: number) =>
    withLink(to, 'Confirm your new email address', ['Confirm that this address should become the one of your account.'], 'Use this address', link, expiresInSeconds, 'If you did not ask for this, ignore this mail: nothing changes.'),

  passwordReset: (to: string, link: string, expiresInSeconds: number) =>
    withLink(to, 'Reset your password', ['Someone (hopefully you) asked to reset the password of your account.'], 'Choose a new password', link, expiresInSeconds, 'If it was not you, ignore this mail: your password stays as it is.'),


  emailChanged: (to: string) =>
    notice(to, 'Your email address was changed', [
      'The email address of your account was just changed; this address no longer signs in.',
      'If this was not you, contact support at once.',
    ]),

  emailInUse: (to: string) =>
    notice(to, 'Someone tried to use your email address', [
      'Someone asked to move another account to this address, which already belongs to your account. Nothing changed.',
      'If it was you, sign in with this address instead.',
    ]),
};
