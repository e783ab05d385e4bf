/**
 * Reads a real inbox: maildev's REST API (`GET /api/email`), as a developer would in its web
 * UI. No stub: the mails got there over SMTP from the service's own mailer.
 */
export interface ReceivedMail {
  id: string;
  subject: string;
  text: string;
  html: string;
  to: { address: string }[];
  from: { address: string }[];
  time: string;
}

export function inbox(webUrl: string) {
  const all = async (): Promise<ReceivedMail[]> => {
    const response = await fetch(`${webUrl}/api/email`);
    if (!response.ok) throw new Error(`maildev answered ${response.status}`);
    return (await response.json()) as ReceivedMail[];
  };
  const to = async (address: string): Promise<ReceivedMail[]> =>
    (await all()).filter((mail) => mail.to.some((recipient) => recipient.address.toLowerCase() === address.toLowerCase()));
  return {
    all,
    to,
    /** Waits (up to `timeoutMs`) until `address` has at least `count` mails; returns them, oldest first. */
    async waitFor(address: string, count = 1, timeoutMs = 10_000): Promise<ReceivedMail[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mails = await to(address);
        if (mails.length >= count) return mails; // maildev lists them in arrival order
        if (Date.now() > deadline) throw new Error(`expected ${count} mail(s) to ${address}, found ${mails.length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** The token of the one link in a mail (`...token=<token>` or `...#verify=<token>`), from its text part. */
export function tokenIn(mail: ReceivedMail): string {
  const match = /(?:token=|#verify=|#reset=)([A-Za-z0-9_.%-]+)/.exec(mail.text);
  if (!match) throw new Error(`no link with a token in: ${mail.text}`);
  return decodeURIComponent(match[1]!);
}
