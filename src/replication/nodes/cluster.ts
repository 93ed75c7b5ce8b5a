import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { NodeSettings } from '../../config/settings';
import { StartupError } from '../../errors/startup-error';
import type { Logger } from '../../logger';
import { FollowerNode, LeaderNode, type PgNode } from './cluster-node';
import { SqlState } from '../../errors/sqlstate';

/** server_version_num of the oldest PostgreSQL syncrep runs on. */
const MIN_SERVER_VERSION = 120000;

/** One configured node and its (not yet initialized) TypeORM DataSource, built by the app. */
export interface NodeSource {
  node: NodeSettings;
  dataSource: DataSource;
}

/** The leader and followers, each with its DataSource, connected, checked and migrated. */
export class Cluster {
  readonly nodes: readonly PgNode[];

  private constructor(
    readonly leader: LeaderNode,
    readonly followers: readonly FollowerNode[],
  ) {
    this.nodes = [leader, ...followers];
  }

  /**
   * Connects to every node, refuses nodes that cannot take part in two-phase commit, and runs the
   * migrations on each. Nothing is served until every node passed.
   */
  static async open(sources: NodeSource[], log: Logger): Promise<Cluster> {
    try {
      await Promise.all(sources.map(({ node, dataSource }) => prepareNode(node, dataSource)));
      for (const { node, dataSource } of sources) {
        const ran = await dataSource.runMigrations({ transaction: 'each' });
        log.info({ node: node.name, migrations: ran.map((m) => m.name) }, 'node ready');
      }
    } catch (error) {
      await Promise.all(sources.filter(({ dataSource }) => dataSource.isInitialized).map(({ dataSource }) => dataSource.destroy()));
      throw error;
    }
    const [leader, ...followers] = sources;
    const version = await setting(leader.dataSource, 'server_version_num');
    return new Cluster(
      new LeaderNode(leader.node.name, leader.dataSource, Number(version) >= 180000),
      followers.map((f) => new FollowerNode(f.node.name, f.dataSource)),
    );
  }

  byName(name: string): PgNode | undefined {
    return this.nodes.find((node) => node.name === name);
  }

  /** Closes every node's pool. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.filter((node) => node.dataSource.isInitialized).map((node) => node.dataSource.destroy()));
  }
}

async function prepareNode(node: NodeSettings, dataSource: DataSource): Promise<void> {
  const where = describeUrl(node.url);
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new StartupError(
      `node "${node.name}" (${where}) is unreachable: ${reason(error)}. Check REPLICATION_NODES and that the server is running.`,
    );
  }
  listenForErrorsOnEveryClient((dataSource.driver as PostgresDriver).master as Pool);
  const version = await setting(dataSource, 'server_version_num');
  if (Number(version) < MIN_SERVER_VERSION) {
    throw new StartupError(
      `node "${node.name}" (${where}) runs PostgreSQL ${Math.floor(Number(version) / 10000)}; syncrep needs 12 or later ` +
        '(followers apply writes with generic plans, plan_cache_mode, which 12 introduced).',
    );
  }
  const max = await setting(dataSource, 'max_prepared_transactions');
  if (Number(max) === 0) {
    throw new StartupError(
      `node "${node.name}" (${where}) has max_prepared_transactions = 0, so it cannot take part in two-phase commit. ` +
        'Start it with -c max_prepared_transactions=64 (or set it in postgresql.conf and restart).',
    );
  }
}

/** One server setting of a node, as text. */
async function setting(dataSource: DataSource, name: 'server_version_num' | 'max_prepared_transactions'): Promise<string> {
  const found: Record<string, string>[] = await dataSource.query(`SHOW ${name}`);
  return found[0][name];
}

/**
 * A node that dies sends a FATAL message to every open connection. pg emits it as an 'error'
 * event, which crashes the process when nothing listens, and pg-pool stops listening on a client
 * while it is checked out or being destroyed. The failure also reaches the query that meets it,
 * so here it only needs to be heard.
 */
function listenForErrorsOnEveryClient(pool: Pool): void {
  const heard = () => undefined;
  pool.on('connect', (client) => client.on('error', heard));
  for (const client of (pool as unknown as { _clients: PoolClient[] })._clients) client.on('error', heard);
}

/** host:port/database of a node URL: enough to find it, without the password. */
function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

function reason(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  if (code === SqlState.InvalidPassword) return 'password authentication failed';
  if (code === SqlState.InvalidCatalogName) return 'database does not exist';
  if (/timeout/i.test(message)) return 'connection timed out';
  return message.replace(/postgres(ql)?:\/\/[^\s]*/g, '<url>');
}
