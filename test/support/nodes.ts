import { mkdtemp, chmod, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { NodeSettings } from '../../src/config/settings';
import { EmbeddedNode } from '../../src/embedded/embedded-node';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Real PostgreSQL nodes for one test file: `leader`, `follower-1`, ... on free ports. */
export class TestNodes {
  private constructor(readonly dir: string, readonly nodes: EmbeddedNode[]) {}

  static async start(followers: number, settings: Record<string, string[]> = {}): Promise<TestNodes> {
    const dir = await mkdtemp(path.join(tmpdir(), 'syncrep-test-'));
    await chmod(dir, 0o755);
    const names = ['leader', ...Array.from({ length: followers }, (_, i) => `follower-${i + 1}`)];
    const nodes: EmbeddedNode[] = [];
    for (const name of names) {
      nodes.push(
        new EmbeddedNode({
          name,
          dataDir: path.join(dir, name),
          port: await freePort(),
          password: 'test',
          database: 'employee',
          settings: settings[name],
        }),
      );
    }
    await Promise.all(nodes.map((node) => node.start()));
    return new TestNodes(dir, nodes);
  }

  node(name: string): EmbeddedNode {
    const node = this.nodes.find((n) => n.options.name === name);
    if (!node) throw new Error(`no test node ${name}`);
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
