import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';

/** `@simplewebauthn/browser` as one file (global `SimpleWebAuthnBrowser`), for the example app's passkey calls. */
const WEBAUTHN_BROWSER_BUNDLE = path.resolve(require.resolve('@simplewebauthn/browser'), '../../dist/bundle/index.umd.min.js');

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * Serves examples/browser/ (the example browser client) on localhost, plus `/config.js`, which
 * tells the page where the API is. Dev tooling: static files only, nothing else.
 */
export async function startExamplesServer(options: { port: number; apiUrl: string; dir: string; host?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const root = path.resolve(options.dir);
  const server: Server = createServer(async (request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname === '/config.js') {
      response.writeHead(200, { 'Content-Type': TYPES['.js']!, 'Cache-Control': 'no-store' });
      response.end(`window.AUTH_API_URL = ${JSON.stringify(options.apiUrl)};\n`);
      return;
    }
    // The passkey calls' browser library, from node_modules (its self-contained UMD bundle).
    const vendor = pathname === '/vendor/simplewebauthn-browser.js';
    const file = vendor ? WEBAUTHN_BROWSER_BUNDLE : path.resolve(root, `.${pathname === '/' ? '/index.html' : pathname}`);
    if ((!vendor && !file.startsWith(root + path.sep)) || request.method !== 'GET') {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    url: `http://localhost:${options.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
