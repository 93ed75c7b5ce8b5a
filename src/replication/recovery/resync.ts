import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import type { Cluster } from '../nodes/cluster';
import { insertRows, sequencePositions, setSequences, tableAsJson, truncateAll } from './table-copy';
import { copyOrder } from './copy-order';
import { leadsActivelyAt } from '../failover/epoch';
import { inTransaction, row, rows } from '../sql/sql';
import { checkEpochSql, epochRow, followEpoch } from '../sql/epoch-statements';
import { markRebuilt } from '../sql/mark-statements';
import { forgetApplied, logSnapshot, recordAppliedAll, setTrimPoint, setWatermark } from '../sql/rebuild-statements';

/** The reason a finished rebuild leaves on the node's mark until catch-up clears it. */
export const REBUILT = 'rebuilt from a snapshot; catching up';

/** syncrep's log is copied with the tables: a follower keeps the row images a promoted leader serves catch-up from. */
const LOG_TABLE = 'syncrep_log';

/**
 * Rebuilds a follower that is behind what the leader's log keeps (or holds what no leader kept).
 * The leader's tables, its log and trim point are read in one REPEATABLE READ snapshot (writes go
 * on meanwhile); the follower's tables and log are replaced with them in one transaction, and it
 * records as applied exactly the positions the snapshot contains, and its sequences (generated
 * keys) are set where the leader's stand. Catch-up then replays every
 * position committed after the snapshot, so no write acknowledged during the rebuild is lost.
 * The same transaction fences a follower of an older epoch to the current one, and leaves it
 * marked `rebuilding` (not promotable) until catch-up has brought it level.
 */
export async function resync(cluster: Cluster, follower: FollowerNode, log: Logger): Promise<void> {
  const { leader, epoch } = cluster;
  if (!cluster.followers.includes(follower) || follower.name === leader.name) {
    throw new Error(`${follower.name} is not a follower of ${leader.name} any more: not rebuilt`);
  }
  // Inserted in an order their foreign keys accept (each table after those it refers to).
  const entities = copyOrder(
    leader.dataSource.entityMetadatas.map((metadata) => ({
      table: metadata.tableName,
      references: metadata.foreignKeys.map((key) => key.referencedEntityMetadata.tableName),
    })),
  );
  const tables = [...entities, LOG_TABLE];
  const snapshot = await inTransaction(
    leader.pool,
    async (client) => {
      // A snapshot of a deposed leader must never become a follower's rows.
      const recorded = await row(client, epochRow());
      if (!leadsActivelyAt(recorded, epoch, leader.name)) {
        throw new Error(
          `${leader.name} is at epoch ${recorded.epoch} led by ${recorded.leader} (${recorded.state}), not the active leader of epoch ${epoch}`,
        );
      }
      const tableRows = new Map<string, string>();
      for (const table of tables) tableRows.set(table, (await row(client, tableAsJson(table))).rows);
      const sequences = await rows(client, sequencePositions(entities));
      const { trimmed, positions } = await row(client, logSnapshot());
      return { tableRows, sequences, trimmed, positions };
    },
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  );
  await inTransaction(follower.pool, async (client) => {
    await rows(client, followEpoch(epoch, leader.name));
    await client.query(checkEpochSql(epoch, leader.name, false));
    await rows(client, truncateAll(tables));
    for (const [table, json] of snapshot.tableRows) await rows(client, insertRows(table, json));
    // Generated keys go on from where the leader's went: promoted, this node hands out no id used already.
    await rows(client, setSequences(snapshot.sequences));
    await rows(client, forgetApplied());
    await rows(client, recordAppliedAll(snapshot.positions));
    await rows(client, setWatermark(snapshot.trimmed));
    await rows(client, setTrimPoint(snapshot.trimmed));
    // Whatever made it diverge is gone with its old rows; until it has caught up it may still lack writes.
    await rows(client, markRebuilt(REBUILT));
  });
  follower.watermark = BigInt(snapshot.trimmed);
  follower.recordedEpoch = epoch;
  log.info({ node: follower.name, tables, watermark: snapshot.trimmed }, 'follower rebuilt from a snapshot of the leader');
}
