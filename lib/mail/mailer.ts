import type { Transporter } from 'nodemailer';

/** One message: the address, the subject, and its two parts (every mail has both). */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * The port `lib/` sends mail through. Resolves once the transport accepted the message;
 * rejects on any fault (the caller decides whether a mail failure fails the request).
 */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export interface MailerOptions {
  from: string;
  /** `smtp://host:port` (npm start's maildev, a relay); unset: Amazon SES with the function's IAM role. */
  smtpUrl: string | undefined;
  /** Deadline of one send over SMTP (connect, greeting, each socket read). */
  timeoutMs: number;
}

/**
 * The adapter: nodemailer, over SMTP when SMTP_URL is set (every local run and the tests, with
 * maildev or any SMTP server), else over Amazon SES's v2 API with the function's IAM role (no
 * credentials in the stack; `ses:SendEmail` is granted in serverless.yml).
 */
export function createMailer(options: MailerOptions): Mailer {
  let transport: Promise<Transporter> | undefined;
  // Loaded on the first send, not at the cold start: nodemailer (and the SES client) are most of
  // these functions' code, and a registration's first mail is the first time they are needed.
  const transportFor = (): Promise<Transporter> =>
    (transport ??= (async () => {
      const { createTransport } = await import('nodemailer');
      if (options.smtpUrl) return createTransport(smtpOptions(options.smtpUrl, options.timeoutMs));
      const { SESv2Client, SendEmailCommand } = await import('@aws-sdk/client-sesv2');
      return createTransport({ SES: { sesClient: new SESv2Client({}), SendEmailCommand } });
    })().catch((error: unknown) => {
      transport = undefined; // tried again on the next send
      throw error;
    }));
  return {
    async send(message) {
      await (await transportFor()).sendMail({ from: options.from, ...message });
    },
  };
}

/** SMTP_URL as nodemailer options, with a deadline on every phase of a send. */
function smtpOptions(smtpUrl: string, timeoutMs: number) {
  const url = new URL(smtpUrl);
  const secure = url.protocol === 'smtps:';
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
}
