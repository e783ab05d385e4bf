import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { startGateway, type Gateway } from './gateway';
import { startExamplesServer } from './examples-server';
import { generateHmacSecret, generateSigningKey, publicJwkOf } from './keys';
import { startMaildev, type Maildev } from './maildev';
import { startRedisCluster } from './redis-cluster';
import { startRedisServer } from './redis-server';

export const ROOT = path.resolve(__dirname, '..');
const DEV_DIR = path.join(ROOT, '.dev');

export interface StackOptions {
  /** Port of the API (serverless-offline). */
  port?: number;
  /** Port of serverless-offline's Lambda endpoint (must differ per running stack). */
  lambdaPort?: number;
  /** Port of the Upstash-REST gateway; 0 = any free port. */
  gatewayPort?: number;
  /** Variables for the functions, on top of the process environment. */
  env?: Record<string, string>;
  /**
   * Where serverless-offline's output goes (default: this process's stdout/stderr), or a
   * function that gets each line (the functions' structured auth log lines among them).
   */
  output?: 'inherit' | 'ignore' | ((line: string) => void);
  /** Serve examples/browser/ on this port (and allow it in CORS when CORS_ALLOWED_ORIGINS is unset). */
  examplesPort?: number;
  /** maildev's SMTP and web ports (npm start: 1025 and 1080); free ports when unset. */
  maildevPorts?: { smtp: number; web: number };
  /**
   * Keys and Redis data are kept under .dev/ and reused across starts (default, `npm start`:
   * redis-server with an append-only file in .dev/redis), or made fresh and thrown away (tests).
   */
  persist?: boolean;
  log?: (message: string) => void;
}

export interface Stack {
  url: string;
  /** The local inbox: web UI, and REST API under /api (GET /api/email). */
  mailUrl: string;
  /** The example browser client, when `examplesPort` was given. */
  examplesUrl?: string;
  gateway: Gateway;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the whole local stack: redis-server, the Upstash-REST gateway in front of it, and
 * serverless-offline with every function and the authorizer. Resolves when the API answers.
 * Everything it started is stopped by `stop()` (and killed if this process exits).
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  const port = options.port ?? 3000;
  const persist = options.persist ?? true;
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });

  const baseEnv: Record<string, string> = { ...definedEnv(process.env), ...options.env };
  const token = baseEnv.UPSTASH_REDIS_REST_TOKEN || randomBytes(24).toString('base64url');

  // DEV_REDIS=cluster: three cluster-mode masters instead of one redis-server.
  const useCluster = baseEnv.DEV_REDIS === 'cluster';
  const redis = useCluster
    ? await startRedisCluster({ dir: path.join(ROOT, '.tmp', `redis-cluster-${port}`), log })
    : persist
      ? await startRedisServer({ dir: path.join(DEV_DIR, 'redis'), persist: true, log })
      : await startRedisServer({ dir: mkdtempSync(path.join(ROOT, '.tmp', 'redis-')), log });
  if (persist && !useCluster) log(`Redis data persists in ${path.relative(ROOT, path.join(DEV_DIR, 'redis'))} (append-only file); delete it to start empty.`);
  let gateway: Gateway | undefined;
  let maildev: Maildev | undefined;
  let offline: ChildProcess | undefined;
  let examples: { url: string; close(): Promise<void> } | undefined;
  const stop = async () => {
    await examples?.close();
    if (offline && offline.exitCode === null) await killProcessGroup(offline);
    await gateway?.close();
    await maildev?.stop();
    await redis.stop();
  };
  try {
    gateway = await startGateway({
      ...('nodes' in redis ? { cluster: redis.nodes } : { redisPort: redis.port }),
      token,
      port: options.gatewayPort ?? 0,
    });
    log(`${'nodes' in redis ? 'Redis Cluster' : `redis-server on 127.0.0.1:${redis.port}`}, Upstash REST gateway on ${gateway.url}`);

    maildev = await startMaildev({ ...(options.maildevPorts ? { smtpPort: options.maildevPorts.smtp, webPort: options.maildevPorts.web } : {}), log });
    const examplesOrigin = options.examplesPort ? `http://localhost:${options.examplesPort}` : undefined;
    // Links in mails lead to the example app when it is served, else to the API's own origin.
    const appOrigin = examplesOrigin ?? `http://localhost:${port}`;
    const env: Record<string, string> = {
      JWT_ISSUER: `http://localhost:${port}`,
      JWT_AUDIENCE: `http://localhost:${port}`,
      ...(examplesOrigin ? { CORS_ALLOWED_ORIGINS: examplesOrigin } : {}),
      MAIL_FROM: 'auth@localhost.test',
      EMAIL_VERIFY_URL: `${appOrigin}/#verify={token}`,
      PASSWORD_RESET_URL: `${appOrigin}/#reset={token}`,
      // Passkeys: the relying party is this machine, its ceremonies come from the app's origin
      // (and the API's own, for clients that run there).
      WEBAUTHN_RP_ID: 'localhost',
      WEBAUTHN_RP_NAME: 'serverless-auth (local)',
      WEBAUTHN_ORIGINS: [...new Set([appOrigin, `http://localhost:${port}`])].join(','),
      // The example app shows the security activity (its `security-events` list).
      SECURITY_PAGE_URL: `${appOrigin}/#security`,
      ...baseEnv,
      ...(await developmentKeys(baseEnv, persist, log)),
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      SMTP_URL: baseEnv.SMTP_URL || maildev.smtpUrl,
      PORT: String(port),
      LAMBDA_PORT: String(options.lambdaPort ?? port + 2),
      // serverless-esbuild leaves a folder per build in TMPDIR: keep them in the project.
      TMPDIR: path.join(ROOT, '.tmp'),
      // Its bundles go to a folder of this stack's own, so two stacks never overwrite each other.
      ESBUILD_WORK_FOLDER: port === 3000 ? '.esbuild' : `.esbuild-${port}`,
    };
    // Fail here, with the variable's name, rather than on the first request: as the signing
    // functions load it, and as the verify-only ones (public key only) do.
    loadConfig(env);
    loadConfig(env, { store: true, verify: true });

    const output = options.output ?? 'inherit';
    offline = spawn(path.join(ROOT, 'node_modules/.bin/serverless'), ['offline', 'start', '--stage', 'local', '--useInProcess'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', typeof output === 'function' ? 'pipe' : output, typeof output === 'function' ? 'pipe' : output],
      detached: true, // own process group, so stop() also ends esbuild and the Lambda workers
    });
    const child = offline;
    if (typeof output === 'function') {
      for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', output);
    }
    process.once('exit', () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForApi(url, child);
    if (options.examplesPort) {
      examples = await startExamplesServer({
        port: options.examplesPort,
        apiUrl: `http://localhost:${port}`,
        dir: path.join(ROOT, 'examples/browser'),
        // The app runs on the built SDK (npm run build:client) and its lazily loaded WebAuthn half.
        mounts: { '/sdk/': path.join(ROOT, 'client/dist'), '/vendor/@simplewebauthn/browser/': path.join(ROOT, 'node_modules/@simplewebauthn/browser/esm') },
      });
      log(`example browser client on ${examples.url} (CORS_ALLOWED_ORIGINS=${env.CORS_ALLOWED_ORIGINS})`);
    }
    return { url, mailUrl: maildev.webUrl, ...(examples ? { examplesUrl: examples.url } : {}), gateway, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Development keys when none are configured: an EdDSA/ES256 key pair or an HS256 secret, and
 * a refresh-token secret, kept in .dev/ (git-ignored) so tokens survive a restart. Announced, never silent.
 */
async function developmentKeys(env: Record<string, string>, persist: boolean, log: (message: string) => void): Promise<Record<string, string>> {
  return { ...developmentAuthSecret(env, persist, log), ...(await developmentSigningKeys(env, persist, log)) };
}

function developmentAuthSecret(env: Record<string, string>, persist: boolean, log: (message: string) => void): Record<string, string> {
  if (env.AUTH_SECRET) return {};
  const file = path.join(DEV_DIR, 'auth-secret.txt');
  const secret = persist && existsSync(file) ? readFileSync(file, 'utf8').trim() : generateHmacSecret();
  if (persist) writeFileSync(file, secret, { mode: 0o600 });
  log(`No AUTH_SECRET set: using a development secret${persist ? ` (${path.relative(ROOT, file)})` : ''}. Never use it in production.`);
  return { AUTH_SECRET: secret };
}

async function developmentSigningKeys(env: Record<string, string>, persist: boolean, log: (message: string) => void): Promise<Record<string, string>> {
  const algorithm = env.JWT_ALGORITHM || 'EdDSA';
  if (algorithm === 'HS256') {
    if (env.JWT_SECRET) return {};
    const file = path.join(DEV_DIR, 'jwt-secret.txt');
    const secret = persist && existsSync(file) ? readFileSync(file, 'utf8').trim() : generateHmacSecret();
    if (persist) writeFileSync(file, secret, { mode: 0o600 });
    log(`No JWT_SECRET set: using a development secret${persist ? ` (${path.relative(ROOT, file)})` : ''}. Never use it in production.`);
    return { JWT_SECRET: secret };
  }
  // The verify-only functions (authorizer, jwks, metadata) get the public half only.
  const withPublic = (privateJwk: string) => ({
    JWT_PRIVATE_KEY: privateJwk,
    ...(env.JWT_PUBLIC_KEY ? {} : { JWT_PUBLIC_KEY: JSON.stringify(publicJwkOf(JSON.parse(privateJwk) as Record<string, unknown>)) }),
  });
  if (env.JWT_PRIVATE_KEY) return withPublic(env.JWT_PRIVATE_KEY);
  if (algorithm !== 'EdDSA' && algorithm !== 'ES256') return {}; // loadConfig names the problem
  const file = path.join(DEV_DIR, `jwt-private-key.${algorithm}.json`);
  let privateJwk: string;
  if (persist && existsSync(file)) privateJwk = readFileSync(file, 'utf8').trim();
  else {
    privateJwk = JSON.stringify((await generateSigningKey(algorithm)).privateJwk);
    if (persist) writeFileSync(file, privateJwk, { mode: 0o600 });
  }
  log(`No JWT_PRIVATE_KEY set: using a development ${algorithm} key${persist ? ` (${path.relative(ROOT, file)})` : ''}. Never use it in production.`);
  return withPublic(privateJwk);
}

async function waitForApi(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serverless-offline exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/.well-known/jwks.json`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`serverless-offline did not answer on ${url} within 120 s`);
}

async function killProcessGroup(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
