/**
 * Starts a throw-away local Redis Cluster: three `redis-server --cluster-enabled yes` masters on
 * loopback, joined with `redis-cli --cluster create ... --cluster-replicas 0`. `npm start` with
 * `DEV_REDIS=cluster` puts the Upstash-REST gateway in front of it (dev/gateway.ts routes each
 * command by its key's slot), so the service runs on a cluster as it would on a sharded Upstash
 * database. Dev tooling only.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startRedisServer, type RedisServerHandle } from './redis-server';

export interface RedisClusterHandle {
  nodes: { host: '127.0.0.1'; port: number }[];
  stop(): Promise<void>;
}

const MASTERS = 3;
const READY_TIMEOUT_MS = 10_000;

export async function startRedisCluster(opts: { dir: string; log?: (message: string) => void }): Promise<RedisClusterHandle> {
  const log = opts.log ?? (() => undefined);
  const servers: RedisServerHandle[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let i = 0; i < MASTERS; i++) {
      // A node's cluster config file names its peers: each start is a new cluster, so the
      // folder starts empty.
      const dir = path.join(opts.dir, `node-${i}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      servers.push(
        await startRedisServer({
          dir,
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitForClusterOk(servers.map((server) => server.port));
    log(`Redis Cluster of ${MASTERS} masters on ${addresses.join(', ')}`);
    return { nodes: servers.map((server) => ({ host: '127.0.0.1' as const, port: server.port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every node must report `cluster_state:ok` (all 16384 slots assigned and agreed on). */
async function waitForClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ok = ports.every((port) => /cluster_state:ok/.test(spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout));
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Redis Cluster did not reach cluster_state:ok within ${READY_TIMEOUT_MS} ms`);
}
