import type { ClientBase, Pool, PoolClient } from 'pg';
import type { RowImage } from '../change';
import { inTransaction } from '../sql/sql';
import type { RunRead } from './entity-reader';

/** How a snapshot read begins: one state of the node for all its statements, and nothing it could change. */
export const BEGIN_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/** Each statement on a pooled connection of its own (a plain read: no snapshot is shared). */
export const onPool =
  (pool: Pool): RunRead =>
  async (_metadata, statement) =>
    (await pool.query<RowImage>(statement)).rows;

/** Each statement on `client`, inside the transaction it holds. */
export const onClient =
  (client: ClientBase): RunRead =>
  async (_metadata, statement) =>
    (await client.query<RowImage>(statement)).rows;

/** `body` in one REPEATABLE READ, read-only transaction on one pooled connection (see inTransaction). */
export function inSnapshot<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, body, BEGIN_SNAPSHOT);
}
