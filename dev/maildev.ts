/**
 * The local mail catcher: maildev 3 as a child process (it is an ES module package, and a
 * process of its own keeps it out of the stack's and the tests' module graph). SMTP and its
 * web UI / REST API (`GET /api/email`) bind 127.0.0.1 only (its web UI would bind 0.0.0.0 by
 * default). Dev tooling only: never deployed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Maildev {
  /** `smtp://127.0.0.1:<port>`: SMTP_URL for the functions. */
  smtpUrl: string;
  /** `http://localhost:<port>`: the web UI, and the REST API under `/api`. */
  webUrl: string;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..');

/** A port nobody listens on right now (bound to 0, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export async function startMaildev(options: { smtpPort?: number; webPort?: number; log?: (message: string) => void } = {}): Promise<Maildev> {
  const smtpPort = options.smtpPort ?? (await freePort());
  const webPort = options.webPort ?? (await freePort());
  // A folder of its own: maildev keeps each mail's source there, and empties it at start.
  const mailDirectory = mkdtempSync(path.join(tmpdir(), 'maildev-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/maildev/dist/bin/maildev.js'),
      '--smtp', String(smtpPort), '--ip', '127.0.0.1',
      '--web', String(webPort), '--web-ip', '127.0.0.1',
      '--mail-directory', mailDirectory,
      '--silent',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const kill = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const webUrl = `http://localhost:${webPort}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`maildev exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`http://127.0.0.1:${webPort}/api/email`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      kill();
      throw new Error(`maildev did not start on ${webUrl}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  options.log?.(`maildev: SMTP on 127.0.0.1:${smtpPort}, inbox on ${webUrl}`);
  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    webUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener('exit', kill);
        const done = () => {
          rmSync(mailDirectory, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
        setTimeout(kill, 2000).unref();
      }),
  };
}
