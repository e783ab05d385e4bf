import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An in-process stand-in for the Upstash REST endpoint on 127.0.0.1, for unit tests that need
 * to know whether (and how) a handler touched the store, whatever HTTP client it uses:
 * - `answer`: replies to each command (a JSON array, as the REST protocol sends it) with
 *   `{result}` from `reply`, strings base64-encoded as under `Upstash-Encoding: base64`;
 * - `reset`: accepts connections and destroys them at once (Redis unreachable);
 * - `hang`: accepts connections and requests and never answers (Redis hung).
 */
export interface FakeStore {
  url: string;
  mode: 'answer' | 'reset' | 'hang';
  reply: (command: unknown[]) => unknown;
  /** Every command received (answer mode), in order. */
  commands: unknown[][];
  /** TCP connections accepted plus requests received, in any mode. */
  contacts: number;
  clear(): void;
  close(): Promise<void>;
}

export async function startFakeStore(): Promise<FakeStore> {
  const sockets = new Set<Socket>();
  const server = http.createServer();
  const store: FakeStore = {
    url: '',
    mode: 'answer',
    reply: () => null,
    commands: [],
    contacts: 0,
    clear() {
      store.commands = [];
      store.contacts = 0;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };

  server.on('connection', (socket) => {
    store.contacts++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (store.mode === 'reset') socket.destroy();
  });

  server.on('request', (request, response) => {
    store.contacts++;
    if (store.mode === 'reset') {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (store.mode === 'hang') return;
      const command = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[];
      store.commands.push(command);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ result: encode(store.reply(command)) }));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  store.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return store;
}

function encode(value: unknown): unknown {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64');
  if (Array.isArray(value)) return value.map(encode);
  return value;
}
