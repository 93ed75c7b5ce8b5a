import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { NodeSettings } from '../../config/settings';
import { StartupError } from '../../errors/startup-error';
import { SqlState } from '../../errors/sqlstate';

/** server_version_num of the oldest PostgreSQL syncrep runs on. */
const MIN_SERVER_VERSION = 120000;

/** A node that did not answer at all (refused, timed out): it may come back. */
export class NodeUnreachable extends StartupError {}

/**
 * Connects to one node and checks it can take part in two-phase commit; returns its
 * server_version_num. NodeUnreachable when it does not answer, StartupError when it answers but
 * cannot be used (each message names the node and the fix).
 */
export async function prepareNode(node: NodeSettings, dataSource: DataSource): Promise<number> {
  const where = describeUrl(node.url);
  try {
    await dataSource.initialize();
  } catch (error) {
    const why = reason(error);
    const message = `node "${node.name}" (${where}) is unreachable: ${why}. Check REPLICATION_NODES and that the server is running.`;
    throw why === 'connection refused' || why === 'connection timed out' ? new NodeUnreachable(message) : new StartupError(message);
  }
  listenForErrorsOnEveryClient((dataSource.driver as PostgresDriver).master as Pool);
  const version = Number(await setting(dataSource, 'server_version_num'));
  if (version < MIN_SERVER_VERSION) {
    throw new StartupError(
      `node "${node.name}" (${where}) runs PostgreSQL ${Math.floor(version / 10000)}; syncrep needs 12 or later ` +
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
  return version;
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
