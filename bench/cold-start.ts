/**
 * Bundle size and cold start of each function: every handler of serverless.yml is built with
 * esbuild as serverless-esbuild builds it for deployment (custom.esbuild), then each bundle is
 * loaded in a fresh `node` process that runs its first invocation (bench/cold-child.cjs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { login, register } from '../lib/auth';
import { createDeps, type Deps } from '../lib/deps';
import { createMailer } from '../lib/mail/mailer';
import { createSession } from '../lib/sessions/sessions';
import { authorizerEvent, BENCH_PASSWORD, benchEmail, httpEvent, lambdaContext, median, round } from './support';

const ROOT = path.resolve(__dirname, '..');

export interface Bundle {
  name: string;
  /** Handler module, e.g. functions/login. */
  module: string;
  file: string;
  bytes: number;
}

export interface ColdStart {
  /** Node's own start-up before the bundle is required (not part of the function's INIT). */
  bootMs: number;
  /** require() of the bundle: module evaluation, config, deps construction started. */
  loadMs: number;
  /** The first invocation: awaits the deps (key import), opens the Redis connection. */
  firstInvokeMs: number;
  /** loadMs + firstInvokeMs: what the first caller waits for beyond Node's start-up. */
  totalMs: number;
  /** A second invocation of the same kind in the same process: the request's own work. */
  warmInvokeMs: number;
  /** totalMs - warmInvokeMs: what being cold costs (bcrypt and the like excluded). */
  coldOverheadMs: number;
  runs: number;
  outcome: string;
}

type ColdSample = Pick<ColdStart, 'bootMs' | 'loadMs' | 'firstInvokeMs' | 'warmInvokeMs' | 'outcome'> & { warmOutcome: string };

/** The functions of serverless.yml and their handler modules. */
export function listFunctions(): { name: string; module: string }[] {
  const yaml = readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8');
  const functions = yaml.slice(yaml.indexOf('\nfunctions:'));
  return [...functions.matchAll(/^ {2}([\w-]+):\s*\n\s+handler: (functions\/[\w-]+)\.handler/gm)].map((match) => ({
    name: match[1]!,
    module: match[2]!,
  }));
}

/** Same options as serverless.yml custom.esbuild (bundle, minify, no source map, node22, cjs). */
export async function buildBundles(outDir: string): Promise<Bundle[]> {
  mkdirSync(outDir, { recursive: true });
  const bundles: Bundle[] = [];
  for (const { name, module } of listFunctions()) {
    const file = path.join(outDir, `${name}.js`);
    await build({
      entryPoints: [path.join(ROOT, `${module}.ts`)],
      outfile: file,
      bundle: true,
      minify: true,
      sourcemap: false,
      target: 'node22',
      platform: 'node',
      format: 'cjs',
      // As serverless.yml's esbuild config: the AWS SDK v3 is part of the Lambda runtime.
      external: ['@aws-sdk/*'],
      logLevel: 'error',
    });
    bundles.push({ name, module, file, bytes: statSync(file).size });
  }
  return bundles;
}

interface Principal {
  userId: string;
  sessionId: string;
}

/**
 * A first event for each function that succeeds, made fresh per run (a new email to register,
 * an unused refresh token, a session to log out), with the expected outcome.
 */
async function eventFor(name: string, deps: Deps, fixture: Fixture): Promise<{ event: unknown; expect: string }> {
  const principal = async (): Promise<Principal> => ({ userId: fixture.user.id, sessionId: (await createSession(deps, fixture.user, fixture.device)).sessionId });
  switch (name) {
    case 'authorizer':
      return { event: authorizerEvent(fixture.accessToken), expect: 'isAuthorized=true' };
    case 'register':
      return { event: httpEvent('POST', '/auth/register', { body: { email: benchEmail('cold'), password: BENCH_PASSWORD } }), expect: 'status=201' };
    case 'login':
      return { event: httpEvent('POST', '/auth/login', { body: { email: fixture.user.email, password: BENCH_PASSWORD } }), expect: 'status=200' };
    case 'refresh': {
      const { refreshToken } = await createSession(deps, fixture.user, fixture.device);
      return { event: httpEvent('POST', '/auth/refresh', { body: { refreshToken } }), expect: 'status=200' };
    }
    case 'logout':
      return { event: httpEvent('POST', '/auth/logout', { principal: await principal() }), expect: 'status=204' };
    case 'logout-all':
      return { event: httpEvent('POST', '/auth/logout-all', { principal: await principal() }), expect: 'status=204' };
    case 'sessions':
      return { event: httpEvent('GET', '/auth/sessions', { principal: await principal() }), expect: 'status=200' };
    case 'me':
      return { event: httpEvent('GET', '/auth/me', { principal: await principal() }), expect: 'status=200' };
    case 'jwks':
      return { event: httpEvent('GET', '/.well-known/jwks.json'), expect: 'status=200' };
    case 'metadata':
      return { event: httpEvent('GET', '/.well-known/oauth-authorization-server'), expect: 'status=200' };
    case 'email':
      return { event: httpEvent('POST', '/auth/email/verify/resend', { body: { email: fixture.user.email } }), expect: 'status=202' };
    case 'password':
      return { event: httpEvent('POST', '/auth/password/forgot', { body: { email: fixture.user.email } }), expect: 'status=202' };
    case 'account': {
      // A user of its own: deleting it leaves the fixture for the other functions.
      const email = benchEmail('cold-delete');
      const doomed = await register(deps, { email, password: BENCH_PASSWORD }, { ip: '198.51.100.30', userAgent: 'bench/1.0', requestId: 'cold' });
      const { sessionId } = await createSession(deps, doomed, fixture.device);
      return { event: httpEvent('DELETE', '/auth/account', { body: { password: BENCH_PASSWORD }, principal: { userId: doomed.id, sessionId } }), expect: 'status=204' };
    }
    case 'example-protected':
      return { event: httpEvent('GET', '/example/whoami', { principal: await principal() }), expect: 'status=200' };
    case 'security-events':
      return { event: httpEvent('GET', '/auth/security-events', { principal: await principal() }), expect: 'status=200' };
    case 'admin':
      // Not an HTTP function: another service's SDK Invoke payload.
      return { event: { action: 'getUser', actor: 'bench', userId: fixture.user.id }, expect: 'admin=ok' };
    case 'passkeys':
      // The first step of a passkey sign-in: @simplewebauthn/server loaded and used.
      return { event: httpEvent('POST', '/auth/passkeys/login/options', { body: {} }), expect: 'status=200' };
    case 'preflight':
      return { event: httpEvent('OPTIONS', '/auth/login'), expect: 'status=204' };
    default:
      // A function this bench does not know yet: a plain authorized GET, any non-5xx answer.
      return { event: httpEvent('GET', `/${name}`, { principal: await principal() }), expect: 'status<500' };
  }
}

interface Fixture {
  user: { id: string; email: string };
  accessToken: string;
  device: { name: string; userAgent: string; ip: string };
}

function runColdChild(bundle: Bundle, input: unknown, env: Record<string, string>, nodeOptions: string): Promise<ColdSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'cold-child.cjs')], {
      cwd: path.dirname(bundle.file),
      env: { PATH: process.env.PATH ?? '', ...env, NODE_OPTIONS: nodeOptions, BENCH_COLD_INPUT: JSON.stringify(input) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const line = output.split('\n').find((candidate) => candidate.startsWith('BENCH_COLD '));
      if (code !== 0 || !line) return reject(new Error(`cold start of ${bundle.name} exited with ${code}`));
      resolve(JSON.parse(line.slice('BENCH_COLD '.length)) as ColdSample);
    });
  });
}

/**
 * Median cold start of each bundle over `runs` fresh processes, with the given function
 * environment. `nodeOptions` is passed as NODE_OPTIONS (serverless.yml sets none).
 */
export async function measureColdStarts(
  bundles: Bundle[],
  env: Record<string, string>,
  runs: number,
  nodeOptions = '',
): Promise<Record<string, ColdStart>> {
  const deps = await createDeps({ env, createMailer, logger: { event: () => undefined, error: () => undefined } });
  const email = benchEmail('cold-fixture');
  const registered = await register(deps, { email, password: BENCH_PASSWORD }, { ip: '198.51.100.10', userAgent: 'bench/1.0', requestId: 'cold' });
  const tokens = await login(deps, { email, password: BENCH_PASSWORD }, { ip: '198.51.100.10', userAgent: 'bench/1.0', requestId: 'cold' });
  const fixture: Fixture = {
    user: { id: registered.id, email: registered.email },
    accessToken: tokens.accessToken,
    device: { name: 'bench', userAgent: 'bench/1.0', ip: '198.51.100.10' },
  };

  const results: Record<string, ColdStart> = {};
  for (const bundle of bundles) {
    const samples: ColdSample[] = [];
    for (let run = 0; run < runs; run++) {
      const first = await eventFor(bundle.name, deps, fixture);
      const second = await eventFor(bundle.name, deps, fixture);
      const sample = await runColdChild(bundle, { bundle: bundle.file, events: [first.event, second.event], context: lambdaContext(bundle.name) }, env, nodeOptions);
      for (const outcome of [sample.outcome, sample.warmOutcome]) {
        const ok = first.expect === 'status<500' ? /^status=[1-4]\d\d$/.test(outcome) : outcome === first.expect;
        if (!ok) throw new Error(`cold start of ${bundle.name}: ${outcome}, expected ${first.expect}`);
      }
      samples.push(sample);
    }
    results[bundle.name] = {
      bootMs: round(median(samples.map((sample) => sample.bootMs)), 1),
      loadMs: round(median(samples.map((sample) => sample.loadMs)), 1),
      firstInvokeMs: round(median(samples.map((sample) => sample.firstInvokeMs)), 1),
      totalMs: round(median(samples.map((sample) => sample.loadMs + sample.firstInvokeMs)), 1),
      warmInvokeMs: round(median(samples.map((sample) => sample.warmInvokeMs)), 1),
      coldOverheadMs: round(median(samples.map((sample) => sample.loadMs + sample.firstInvokeMs - sample.warmInvokeMs)), 1),
      runs,
      outcome: samples[0]!.outcome,
    };
  }
  return results;
}
