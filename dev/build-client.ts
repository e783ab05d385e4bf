import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const CLIENT = path.resolve(__dirname, '../client');
const ENTRY = path.join(CLIENT, 'src/index.ts');
/** The SDK's budget (SPEC "Client SDK"): minified and gzipped, without the lazily loaded WebAuthn half. */
export const CLIENT_SIZE_LIMIT_BYTES = 10 * 1024;

/**
 * Builds `client/dist/`: one ESM file (`@simplewebauthn/browser` stays an import, loaded by the
 * passkey calls only) and the type declarations (tsc).
 */
export function buildClient(): Promise<void> {
  // One build per process: the test projects' global setups all ask for it.
  built ??= buildOnce();
  return built;
}

let built: Promise<void> | undefined;

async function buildOnce(): Promise<void> {
  // Built aside, then moved in file by file (each rename is atomic), so processes that build
  // at the same time never read a half-written file.
  const staging = path.join(CLIENT, `.dist-${process.pid}-${randomBytes(4).toString('hex')}`);
  const dist = path.join(CLIENT, 'dist');
  try {
    await build({ entryPoints: [ENTRY], outfile: path.join(staging, 'index.js'), bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['@simplewebauthn/browser'], logLevel: 'warning' });
    execFileSync(path.resolve(__dirname, '../node_modules/.bin/tsc'), ['-p', path.join(CLIENT, 'tsconfig.json'), '--outDir', staging], { stdio: 'inherit' });
    mkdirSync(dist, { recursive: true });
    for (const file of readdirSync(staging)) renameSync(path.join(staging, file), path.join(dist, file));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The SDK's size as an app ships it: bundled, minified, gzipped (the WebAuthn chunk excluded). */
export async function clientSize(): Promise<{ minifiedBytes: number; gzippedBytes: number }> {
  const result = await build({ entryPoints: [ENTRY], bundle: true, write: false, minify: true, format: 'esm', platform: 'neutral', target: 'es2022', external: ['@simplewebauthn/browser'], logLevel: 'silent' });
  const code = result.outputFiles[0]!.contents;
  return { minifiedBytes: code.byteLength, gzippedBytes: gzipSync(code, { level: 9 }).byteLength };
}

if (require.main === module) {
  buildClient()
    .then(clientSize)
    .then(({ minifiedBytes, gzippedBytes }) => {
      console.log(`client/dist built: ${minifiedBytes} B minified, ${gzippedBytes} B gzipped (limit ${CLIENT_SIZE_LIMIT_BYTES} B)`);
      if (gzippedBytes > CLIENT_SIZE_LIMIT_BYTES) {
        console.error('The client is over its size budget.');
        process.exitCode = 1;
      }
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
