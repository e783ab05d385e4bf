/**
 * Finds the system programs the local runtime and the tests need (redis-server, chromium) and,
 * on Debian/Ubuntu when running as root, installs a missing one with apt-get; otherwise it
 * fails with the one command to run. Dev tooling only — never imported by deployed code.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Some distributions install programs outside a non-root user's PATH
 * (e.g. /usr/sbin), and Homebrew's prefix differs per CPU architecture.
 */
const FALLBACK_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/opt/homebrew/bin'];

export interface EnsureExecutableOptions {
  /** The Debian package that provides it. */
  aptPackage: string;
  /** Extra lines for the error message (e.g. how to install it on macOS). */
  otherInstallHints?: string[];
  log?: ((msg: string) => void) | undefined;
}

/** `apt-get update` runs at most once per process, however many packages get installed. */
let aptUpdated = false;

/**
 * Resolves `name` (a program name looked up on PATH and in FALLBACK_DIRS, or an absolute path)
 * to an executable, installing `aptPackage` with apt-get when it is missing, this process is
 * root and apt-get exists. Throws with the command to run otherwise.
 */
export function ensureExecutable(name: string, opts: EnsureExecutableOptions): string {
  const log = opts.log ?? (() => undefined);
  const found = findExecutable(name);
  if (found) return found;

  const isRoot = process.getuid?.() === 0;
  if (isRoot && findExecutable('apt-get')) {
    log(`${name} not found; installing ${opts.aptPackage} with apt-get (running as root)`);
    if (!aptUpdated) {
      runInheritingStdio('apt-get', ['update']);
      aptUpdated = true;
    }
    runInheritingStdio('apt-get', ['install', '-y', opts.aptPackage]);
    const installed = findExecutable(name);
    if (installed) return installed;
    throw new Error(`apt-get install ${opts.aptPackage} finished but ${name} is still not found`);
  }

  const where = isAbsolute(name) ? `${name} is missing` : `${name} was not found on PATH`;
  throw new Error(
    `${where}. Install it first:\n` +
      `  Debian/Ubuntu: sudo apt-get install -y ${opts.aptPackage}\n` +
      (opts.otherInstallHints ?? []).map((line) => `  ${line}\n`).join(''),
  );
}

export function findExecutable(name: string): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...FALLBACK_DIRS].map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not here (or not executable); keep looking.
    }
  }
  return undefined;
}

function runInheritingStdio(command: string, args: string[]): void {
  // Inherited stdio lets the user watch (slow) package installation progress;
  // noninteractive stops debconf from waiting on a prompt nobody will answer.
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with status ${String(result.status ?? result.signal)}`);
  }
}

/**
 * The Chromium the browser test drives: CHROMIUM_PATH when set (never installed over), else
 * Debian's /usr/bin/chromium, installed with apt-get when missing and running as root.
 */
export function ensureChromium(log?: (msg: string) => void): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (findExecutable(configured)) return configured;
    throw new Error(`CHROMIUM_PATH=${configured} is missing or not executable`);
  }
  return ensureExecutable('/usr/bin/chromium', { aptPackage: 'chromium', log });
}
