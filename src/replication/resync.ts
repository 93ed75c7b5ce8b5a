import { escapeIdentifier } from 'pg';
import type { Logger } from '../logger';
import type { FollowerNode, LeaderNode } from './cluster-node';
import { withClient } from './sql';

/**
 * Rebuilds a follower that is behind what the leader's log keeps. The leader's tables, the log
 * positions and the trim point are read in one REPEATABLE READ snapshot (writes go on meanwhile);
 * the follower's tables are replaced with them in one transaction, and it records as applied
 * exactly the positions the snapshot contains. Catch-up then replays every position committed
 * after the snapshot, so no write acknowledged during the rebuild is lost.
 */
export async function resync(leader: LeaderNode, follower: FollowerNode, log: Logger): Promise<void> {
  const tables = leader.dataSource.entityMetadatas.map((metadata) => metadata.tableName);
  const snapshot = await withClient(leader.pool, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const rows = new Map<string, string>();
      for (const table of tables) {
        const result = await client.query(`SELECT coalesce(jsonb_agg(t), '[]')::text AS rows FROM ${escapeIdentifier(table)} t`);
        rows.set(table, result.rows[0].rows);
      }
      const meta = await client.query(
        `SELECT (SELECT upto FROM syncrep_trim)::text AS trimmed,
                (SELECT coalesce(array_agg(position), '{}') FROM syncrep_log)::text AS positions`,
      );
      return { rows, trimmed: meta.rows[0].trimmed as string, positions: meta.rows[0].positions as string };
    } finally {
      await client.query('COMMIT');
    }
  });
  await withClient(follower.pool, async (client) => {
    await client.query('BEGIN');
    try {
      for (const [table, rows] of snapshot.rows) {
        const name = escapeIdentifier(table);
        await client.query(`TRUNCATE ${name}`);
        await client.query(`INSERT INTO ${name} SELECT * FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb)`, [rows]);
      }
      await client.query('TRUNCATE syncrep_applied');
      await client.query('INSERT INTO syncrep_applied (position) SELECT unnest($1::bigint[])', [snapshot.positions]);
      await client.query('UPDATE syncrep_watermark SET upto = $1', [snapshot.trimmed]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
  follower.watermark = BigInt(snapshot.trimmed);
  log.info({ node: follower.name, tables, watermark: snapshot.trimmed }, 'follower rebuilt from a snapshot of the leader');
}
