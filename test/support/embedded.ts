import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { Syncrep } from '../../src/app';
import { loadSettings } from '../../src/config/load-settings';
import { createLogger } from '../../src/logger';
import { TEST_SERVER_ENV } from './server';

/**
 * The first of `count` consecutive free ports on 127.0.0.1, for an embedded cluster (leader on the
 * first, follower N on first + N). Chosen below Linux's ephemeral range (32768 and up), where a
 * restarted node's port cannot be handed to an outgoing connection meanwhile.
 */
export async function freePortRange(count: number): Promise<number> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const held: Server[] = [];
    try {
      for (let i = 0; i < count; i++) held.push(await hold(first + i));
      return first;
    } catch {
      // One was taken: try another range.
    } finally {
      await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }
}

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Starts a real syncrep server in this process on the embedded cluster `npm start` runs (no
 * REPLICATION_NODES), with its data in `dataDir` and its nodes on free ports. Another test file can
 * take a port between choosing and binding it; then the cluster is started again on new ones.
 */
export async function startEmbeddedServer(dataDir: string, followers: number, env: Record<string, string> = {}): Promise<Syncrep> {
  for (let attempt = 1; ; attempt++) {
    const settings = loadSettings({
      EMBEDDED_DATA_DIR: dataDir,
      EMBEDDED_BASE_PORT: String(await freePortRange(followers + 1)),
      EMBEDDED_FOLLOWERS: String(followers),
      ...TEST_SERVER_ENV,
      ...env,
    });
    try {
      return await Syncrep.start(settings, createLogger(env.LOG_LEVEL ?? 'silent'));
    } catch (error) {
      if (attempt >= 5 || !/Address already in use/.test(String(error))) throw error;
    }
  }
}

/** The PID of the postmaster running on `nodeDataDir`, from the first line of its postmaster.pid. */
export async function postmasterPid(nodeDataDir: string): Promise<number> {
  const content = await readFile(path.join(nodeDataDir, 'postmaster.pid'), 'utf8');
  return Number(content.split('\n')[0]);
}
