import 'reflect-metadata';
import { escapeIdentifier } from 'pg';
import { Syncrep } from '../src/app';
import { loadSettings } from '../src/config/load-settings';
import { createLogger } from '../src/logger';
import { LocalNodes } from './nodes';

/** What a test server runs with unless told otherwise: a free port on 127.0.0.1, quick health checks. */
export const TEST_SERVER_ENV: Readonly<Record<string, string>> = {
  PORT: '0',
  HOST: '127.0.0.1',
  DB_TIMEOUT_MS: '10000',
  HEALTH_INTERVAL_MS: '200',
  HEALTH_TIMEOUT_MS: '1000',
};

/** One GraphQL response, as a client sees it. */
export interface GqlResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, any>; path?: (string | number)[] }[];
  /** `replication.servedBy`: the node that served the reads (see the README, Reads). */
  extensions?: { replication?: { servedBy?: string | string[] | null } };
}

/** Starts a real syncrep server in this process on a free port, in front of `nodes`. */
export function startServer(nodes: LocalNodes, env: Record<string, string> = {}): Promise<Syncrep> {
  const settings = loadSettings({ REPLICATION_NODES: nodes.replicationNodes, ...TEST_SERVER_ENV, ...env });
  return Syncrep.start(settings, createLogger(env.LOG_LEVEL ?? 'silent'));
}

/**
 * The entry point for testing your own replicated entities with jest: real PostgreSQL nodes (a
 * leader and `followers`, embedded, on free ports under a temporary folder) and a syncrep server
 * in front of them. See the README, "Add a replicated table".
 *
 * ```ts
 * const cluster = await TestCluster.start({ followers: 2 });
 * await cluster.gql('mutation { createDepartment(input: { name: "Sales" }) { position } }');
 * await cluster.identical('department'); // every node holds the same rows, nothing prepared
 * await cluster.stop();
 * ```
 */
export class TestCluster {
  private constructor(
    /** The nodes, to stop, pause or query one directly (outside syncrep). */
    readonly nodes: LocalNodes,
    readonly server: Syncrep,
  ) {}

  /** Starts the nodes and a server; `env` holds settings as the environment would (see Settings). */
  static async start(options: { followers?: number; env?: Record<string, string> } = {}): Promise<TestCluster> {
    const nodes = await LocalNodes.start(options.followers ?? 2);
    try {
      return new TestCluster(nodes, await startServer(nodes, options.env));
    } catch (error) {
      await nodes.stop();
      throw error;
    }
  }

  /** The server's GraphQL URL. */
  get url(): string {
    return this.server.url;
  }

  /** POSTs one operation, as a client would. */
  async gql<T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): Promise<GqlResponse<T>> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GqlResponse<T>;
  }

  /**
   * The rows of `table` (ordered by `orderBy`, the first column unless given), the same on every
   * running node, with no prepared transaction left on any; throws naming the first node that differs.
   */
  async identical(table: string, orderBy = '1'): Promise<Record<string, unknown>[]> {
    const sql = `SELECT * FROM ${escapeIdentifier(table)} ORDER BY ${orderBy}`;
    const running = this.nodes.nodes.filter((n) => n.running).map((n) => n.options.name);
    const [first, ...rest] = await Promise.all(running.map((name) => this.nodes.query(name, sql)));
    for (const [i, rows] of rest.entries()) {
      if (JSON.stringify(rows) !== JSON.stringify(first)) {
        throw new Error(
          `${running[i + 1]} holds other rows of ${table} than ${running[0]}: ${JSON.stringify(rows)} against ${JSON.stringify(first)}`,
        );
      }
    }
    for (const name of running) {
      const prepared = await this.nodes.prepared(name);
      if (prepared.length > 0) throw new Error(`${name} still holds prepared transactions ${prepared.join(', ')}`);
    }
    return first;
  }

  /** Stops the server, then the nodes, and removes their folder. */
  async stop(): Promise<void> {
    await this.server.stop();
    await this.nodes.stop();
  }
}
