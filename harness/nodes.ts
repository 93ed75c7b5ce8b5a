import { mkdtemp, chmod, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { NodeSettings } from '../src/config/settings';
import { EmbeddedNode } from '../src/embedded/embedded-node';
import { DEFAULT_SHARED_DIR, placeBinaries } from '../src/embedded/postgres-places';
import { createLogger } from '../src/logger';

/** A free TCP port on 127.0.0.1, chosen by the OS (for servers that keep it while they live). */
export function freePort(): Promise<number> {
  return listenOn(0);
}

/**
 * A free port for a PostgreSQL node, below Linux's ephemeral range (32768 and up): fault tests stop
 * and restart nodes on the same port, and a port in that range, once freed, can be handed to any
 * outgoing connection in the meantime.
 */
async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = await listenOn(20_000 + Math.floor(Math.random() * 12_000)).catch(() => undefined);
    if (port) return port;
  }
}

function listenOn(wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(wanted, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a node on a free port. Test files run in parallel, so another one's node can take the
 * port between choosing it and binding it; then a new port is chosen.
 */
async function startOnFreePort(name: string, dataDir: string, binDir: string, settings: string[] | undefined): Promise<EmbeddedNode> {
  for (let attempt = 1; ; attempt++) {
    const node = new EmbeddedNode({ name, dataDir, port: await freeNodePort(), password: 'test', database: 'employee', settings, binDir });
    try {
      await node.start();
      return node;
    } catch (error) {
      if (attempt >= 5 || !/Address already in use/.test(String(error))) throw error;
    }
  }
}

/** Real PostgreSQL nodes on free ports, `leader`, `follower-1`, ...: one set per test file or bench topology. */
export class LocalNodes {
  private constructor(
    readonly dir: string,
    readonly nodes: EmbeddedNode[],
  ) {}

  static async start(followers: number, settings: Record<string, string[]> = {}): Promise<LocalNodes> {
    const dir = await mkdtemp(path.join(tmpdir(), 'syncrep-nodes-'));
    await chmod(dir, 0o755);
    // As root from a folder the postgres user cannot enter (a clone in a 0700 home), the binaries
    // are run from a copy in the shared folder, exactly as `npm start` does.
    const binDir = await placeBinaries(DEFAULT_SHARED_DIR, createLogger('warn'));
    const names = ['leader', ...Array.from({ length: followers }, (_, i) => `follower-${i + 1}`)];
    const nodes = await Promise.all(names.map((name) => startOnFreePort(name, path.join(dir, name), binDir, settings[name])));
    return new LocalNodes(dir, nodes);
  }

  node(name: string): EmbeddedNode {
    const node = this.nodes.find((n) => n.options.name === name);
    if (!node) throw new Error(`no local node ${name}`);
    return node;
  }

  /** The value of REPLICATION_NODES for these nodes. */
  get replicationNodes(): string {
    return this.settings.map((n) => `${n.name}=${n.url}`).join(',');
  }

  get settings(): NodeSettings[] {
    return this.nodes.map((n) => ({ name: n.options.name, url: n.url }));
  }

  /** Runs one query directly on a node, outside syncrep. */
  async query<T = Record<string, unknown>>(name: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.node(name).url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Every employee row on a node, ordered by id. */
  rows(name: string): Promise<{ id: number; name: string; salary: number }[]> {
    return this.query(name, 'SELECT id, name, salary FROM emp ORDER BY id');
  }

  /** Gids of the prepared transactions a node holds. */
  async prepared(name: string): Promise<string[]> {
    return (await this.query<{ gid: string }>(name, 'SELECT gid FROM pg_prepared_xacts ORDER BY gid')).map((r) => r.gid);
  }

  /** Rows of every node, for comparing them. */
  async rowsEverywhere(): Promise<Record<string, unknown[]>> {
    const all: Record<string, unknown[]> = {};
    for (const node of this.nodes) if (node.running) all[node.options.name] = await this.rows(node.options.name);
    return all;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
