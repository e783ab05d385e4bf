/**
 * Starts a throw-away local `redis-server` for development and integration tests.
 *
 * The server is deliberately ephemeral: no RDB snapshots, no AOF, bound to
 * loopback only, so tests never leave state behind or expose a port.
 * Dev tooling only — never imported by deployed code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ensureExecutable } from './system-packages';

export interface StartRedisServerOptions {
  /** Port to listen on; a free port is picked when omitted. */
  port?: number | undefined;
  /** Working directory for redis-server (defaults to os.tmpdir()). */
  dir?: string | undefined;
  /** Keep the data in an append-only file in `dir`, reloaded at the next start (default: nothing persisted). */
  persist?: boolean;
  /** Receives progress messages (installation, start-up); silent when omitted. */
  log?: ((msg: string) => void) | undefined;
  /** More redis-server arguments (e.g. cluster mode, for dev/redis-cluster.ts). */
  extraArgs?: string[] | undefined;
}

export interface RedisServerHandle {
  port: number;
  host: '127.0.0.1';
  /** Terminates the server (SIGTERM, then SIGKILL after 2 s); resolves once it has exited. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 5_000;
const READY_POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 2_000;
/** Only the tail of the server's output is kept: it is just for error messages. */
const MAX_CAPTURED_OUTPUT = 16 * 1024;
/** A picked free port can be grabbed by someone else before redis binds it, so retry a few times. */
const MAX_START_ATTEMPTS = 3;

/** Children that must not outlive this process; see registerExitCleanup(). */
const liveChildren = new Set<ChildProcess>();
let exitCleanupRegistered = false;

export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const log = opts.log ?? (() => undefined);
  const binary = ensureRedisServerBinary(log);
  const dir = opts.dir ?? tmpdir();
  // A fresh clone has no .tmp/ yet; redis-server refuses a missing --dir.
  mkdirSync(dir, { recursive: true });

  // Retrying only makes sense when we chose the port ourselves; a caller-chosen
  // port that is taken is a real conflict the caller needs to hear about.
  const attempts = opts.port === undefined ? MAX_START_ATTEMPTS : 1;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = opts.port ?? (await findFreePort());
    try {
      const handle = await spawnAndWaitUntilReady(binary, port, dir, [...(opts.persist ? ['--appendonly', 'yes'] : []), ...(opts.extraArgs ?? [])]);
      log(`redis-server listening on ${HOST}:${port}`);
      return handle;
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      const portTaken = /address already in use/i.test(lastError.message);
      if (!portTaken) break;
      log(`port ${port} was taken before redis-server could bind it; retrying`);
    }
  }
  throw lastError ?? new Error('redis-server failed to start');
}

/** Resolves the redis-server executable, installing it via apt-get when that is possible without asking. */
function ensureRedisServerBinary(log: (msg: string) => void): string {
  return ensureExecutable('redis-server', {
    aptPackage: 'redis-server',
    otherInstallHints: ['macOS:         brew install redis'],
    log,
  });
}

/** Asks the OS for an unused port by binding port 0, then releases it for redis-server. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

async function spawnAndWaitUntilReady(binary: string, port: number, dir: string, extraArgs: string[]): Promise<RedisServerHandle> {
  // An argument array (no shell) so the empty `--save ''` and paths with spaces survive intact.
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--protected-mode', 'yes',
    ...extraArgs,
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  registerExitCleanup(child);

  // Keep draining the pipes for the server's whole life: a full pipe buffer
  // would block redis-server's logging thread. Only the tail is retained.
  let output = '';
  const captureOutput = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-MAX_CAPTURED_OUTPUT);
  };
  child.stdout?.on('data', captureOutput);
  child.stderr?.on('data', captureOutput);

  // 'close' (not 'exit') also waits for stdio to drain, so the captured output
  // is complete when we build an error message from it.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // Spawn failures (e.g. EACCES) arrive as 'error' events; without a listener they would crash the process.
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  void exited.then(() => liveChildren.delete(child));

  const stop = async (): Promise<void> => {
    // No pid means the spawn itself failed: there is no process and no 'exit' will ever come.
    if (child.pid !== undefined) {
      const running = child.exitCode === null && child.signalCode === null;
      const forceKill = running ? setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS) : undefined;
      if (running) child.kill('SIGTERM');
      await exited;
      clearTimeout(forceKill);
    }
    liveChildren.delete(child);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) break;
    if (child.pid !== undefined && (await readServerPid(port)) === child.pid) return { port, host: HOST, stop };
    await sleep(READY_POLL_INTERVAL_MS);
  }

  await stop();
  const reason = spawnError
    ? `could not be spawned (${spawnError.message})`
    : child.exitCode !== null || child.signalCode !== null
      ? `exited early (code ${String(child.exitCode)}, signal ${String(child.signalCode)})`
      : `did not answer within ${READY_TIMEOUT_MS} ms`;
  throw new Error(`redis-server on port ${port} ${reason}. Output:\n${output.trim() || '(none)'}`);
}

/**
 * Asks the server on `port` for its process id with one raw RESP round-trip
 * (cheaper than a client library). Comparing it with our child's pid matters:
 * if the port is already taken, a plain PING would be answered by the other
 * server while ours is still failing to bind.
 */
function readServerPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const finish = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(500, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    socket.once('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      // A bulk reply looks like "$<length>\r\n<payload>\r\n"; anything else (e.g. -LOADING) means not ready.
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (!header) {
        if (reply.includes('\r\n')) finish(undefined);
        return;
      }
      if (reply.length < header[0].length + Number(header[1])) return;
      const pid = /^process_id:(\d+)/m.exec(reply)?.[1];
      finish(pid === undefined ? undefined : Number(pid));
    });
    socket.once('end', () => finish(undefined));
  });
}

/**
 * 'exit' handlers only allow synchronous work, which kill() is. Note that a
 * process killed by an unhandled signal does not emit 'exit'; Ctrl-C in a
 * terminal still reaches redis-server because it shares our process group.
 */
function registerExitCleanup(child: ChildProcess): void {
  liveChildren.add(child);
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  process.on('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
