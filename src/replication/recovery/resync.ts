import type { Logger } from '../../logger';
import type { FollowerNode, LeaderNode } from '../nodes/cluster-node';
import { tableAsJson, replaceTable } from '../sql/table-copy';
import { inTransaction, row, rows } from '../sql/sql';
import { clearDivergenceMark, forgetApplied, logSnapshot, recordAppliedAll, setWatermark } from '../sql/statements';

/**
 * Rebuilds a follower that is behind what the leader's log keeps. The leader's tables, the log
 * positions and the trim point are read in one REPEATABLE READ snapshot (writes go on meanwhile);
 * the follower's tables are replaced with them in one transaction, and it records as applied
 * exactly the positions the snapshot contains. Catch-up then replays every position committed
 * after the snapshot, so no write acknowledged during the rebuild is lost.
 */
export async function resync(leader: LeaderNode, follower: FollowerNode, log: Logger): Promise<void> {
  const tables = leader.dataSource.entityMetadatas.map((metadata) => metadata.tableName);
  const snapshot = await inTransaction(
    leader.pool,
    async (client) => {
      const tableRows = new Map<string, string>();
      for (const table of tables) tableRows.set(table, (await row(client, tableAsJson(table))).rows);
      const { trimmed, positions } = await row(client, logSnapshot());
      return { tableRows, trimmed, positions };
    },
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
  await inTransaction(follower.pool, async (client) => {
    for (const [table, json] of snapshot.tableRows) {
      for (const statement of replaceTable(table, json)) await client.query(statement);
    }
    await rows(client, forgetApplied());
    await rows(client, recordAppliedAll(snapshot.positions));
    await rows(client, setWatermark(snapshot.trimmed));
    // Rebuilt: whatever made it diverge is gone with its old rows.
    await rows(client, clearDivergenceMark());
  });
  follower.watermark = BigInt(snapshot.trimmed);
  log.info({ node: follower.name, tables, watermark: snapshot.trimmed }, 'follower rebuilt from a snapshot of the leader');
}
