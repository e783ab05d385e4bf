import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildClient } from './build-client';
import { ROOT, startStack } from './stack';

/** `npm start`: the whole stack on this machine, until Ctrl-C. */
async function main(): Promise<void> {
  const envFile = path.join(ROOT, '.env');
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const port = Number(process.env.PORT ?? 3000);
  const log = (message: string) => console.log(`[dev] ${message}`);

  const examplesPort = Number(process.env.EXAMPLES_PORT ?? 8080);
  const maildevPorts = { smtp: Number(process.env.MAILDEV_SMTP_PORT ?? 1025), web: Number(process.env.MAILDEV_WEB_PORT ?? 1080) };
  // The example app runs on the built SDK (client/dist).
  await buildClient();
  const stack = await startStack({ port, examplesPort, maildevPorts, log });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping serverless-offline, the gateway, maildev and redis-server...');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  const url = `http://localhost:${port}`;
  console.log(`
[dev] The auth API is up on ${url}  (Ctrl-C stops everything)
[dev] Example browser client: ${stack.examplesUrl}
[dev] Mail inbox (every mail the stack sends): ${stack.mailUrl}  (REST: ${stack.mailUrl}/api/email)

  curl -s -X POST ${url}/auth/register -H 'Content-Type: application/json' \\
       -d '{"email":"ada@example.com","password":"correct horse battery"}'
  curl -s -X POST ${url}/auth/login -H 'Content-Type: application/json' \\
       -d '{"email":"ada@example.com","password":"correct horse battery"}'
  curl -s ${url}/auth/me -H "Authorization: Bearer <accessToken>"
`);
}

main().catch((error: unknown) => {
  console.error(`[dev] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
