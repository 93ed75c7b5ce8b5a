import { Client } from 'pg';
import type { LocalNodes } from '../../harness/nodes';
import { waitFor } from './wait';

/** A session of its own on `node`, outside syncrep (the caller ends it). */
export async function sessionOn(nodes: LocalNodes, node: string): Promise<Client> {
  const client = new Client({ connectionString: nodes.node(node).url });
  await client.connect();
  return client;
}

/**
 * A session on `node` holding employee `id` locked (SELECT ... FOR UPDATE in an open transaction):
 * writes of that row wait there until the test ends it with `ROLLBACK` and `end()`.
 */
export async function lockedRow(nodes: LocalNodes, node: string, id: number): Promise<Client> {
  const client = await sessionOn(nodes, node);
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM emp WHERE id = $1 FOR UPDATE', [id]);
  return client;
}

/**
 * Until some session on `node` waits for a lock `blocker` holds: a session of the test (lockedRow,
 * say), or `'prepared'` for a prepared transaction (PostgreSQL names no process for it).
 */
export function lockWaitOn(nodes: LocalNodes, node: string, what: string, blocker: Client | 'prepared'): Promise<void> {
  const pid = blocker === 'prepared' ? 0 : blocker.processID;
  if (pid === null) throw new Error(`${what}: the blocking session has no backend process id`);
  return waitFor(
    async () => (await nodes.query(node, 'SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [pid])).length > 0,
    what,
  );
}
