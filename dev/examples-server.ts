import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * Serves examples/browser/ (the example browser client) on localhost, plus `/config.js`, which
 * tells the page where the API is, and the folders in `mounts` (the built SDK and the WebAuthn
 * library it loads for passkeys). Dev tooling: static files only, nothing else.
 */
export async function startExamplesServer(options: {
  port: number;
  apiUrl: string;
  dir: string;
  /** Other folders served under a path prefix (the built SDK under `/sdk/`, say). */
  mounts?: Record<string, string>;
  host?: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname === '/config.js') {
      response.writeHead(200, { 'Content-Type': TYPES['.js']!, 'Cache-Control': 'no-store' });
      response.end(`window.AUTH_API_URL = ${JSON.stringify(options.apiUrl)};\n`);
      return;
    }
    const mount = Object.entries(options.mounts ?? {}).find(([prefix]) => pathname.startsWith(prefix));
    const root = path.resolve(mount ? mount[1] : options.dir);
    const rest = mount ? pathname.slice(mount[0].length - 1) : pathname;
    const file = path.resolve(root, `.${rest === '/' ? '/index.html' : rest}`);
    if (!file.startsWith(root + path.sep) || request.method !== 'GET') {
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
