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

export const mails = {
  verifyEmail: (to: string, link: string, expiresInSeconds: number) =>
    withLink(to, 'Confirm your email address', ['Confirm that this address is yours.'], 'Confirm my email address', link, expiresInSeconds, 'If you did not create an account, ignore this mail.'),

  confirmNewEmail: (to: string, link: string, expiresInSeconds: number) =>
    withLink(to, 'Confirm your new email address', ['Confirm that this address should become the one of your account.'], 'Use this address', link, expiresInSeconds, 'If you did not ask for this, ignore this mail: nothing changes.'),

  passwordReset: (to: string, link: string, expiresInSeconds: number) =>
    withLink(to, 'Reset your password', ['Someone (hopefully you) asked to reset the password of your account.'], 'Choose a new password', link, expiresInSeconds, 'If it was not you, ignore this mail: your password stays as it is.'),

  passwordChanged: (to: string) =>
    notice(to, 'Your password was changed', [
      'The password of your account was just changed, and your other sessions were signed out.',
      'If this was not you, reset your password now and review your sessions.',
    ]),

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
