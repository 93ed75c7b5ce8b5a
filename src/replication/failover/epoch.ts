import type { Logger } from '../../logger';
import { StartupError } from '../../errors/startup-error';
import type { Leadership, NodeSource } from '../nodes/cluster';
import type { NodeSettings } from '../../config/settings';
import { row, rows } from '../sql/sql';
import { epochRow, recordInitialLeader, type EpochRow } from '../sql/epoch-statements';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import type { Pool } from 'pg';

/** How positions carry their epoch: position = epoch * 2^40 + sequence. */
export const EPOCH_SHIFT = 40n;

/** The epoch a position was taken in. */
export function epochOf(position: bigint): bigint {
  return position >> EPOCH_SHIFT;
}

/**
 * True when a node's epoch record says `leader` is the active leader of `epoch`: one a promotion
 * claimed but has not activated yet lacks what the promotion will give it, and one of another
 * epoch or leader is deposed. Nothing is caught up from, or copied from, any other.
 */
export function leadsActivelyAt(recorded: Pick<EpochRow, 'epoch' | 'leader' | 'state'>, epoch: bigint, leader: string): boolean {
  return recorded.epoch === epoch.toString() && recorded.leader === leader && recorded.state === 'active';
}

/**
 * Reads who leads from the nodes at startup: the leader recorded at the highest epoch any node
 * holds (preferring a finished promotion). A cluster that never had a promotion records the first
 * configured node as epoch 0's leader on every node, once. Fails, naming the fix, when the nodes
 * name a leader REPLICATION_NODES does not list.
 */
export async function settleInitialLeader(sources: NodeSource[], configured: NodeSettings[], log: Logger): Promise<Leadership> {
  const poolOf = (s: NodeSource) => (s.dataSource.driver as PostgresDriver).master as Pool;
  let found = await Promise.all(sources.map(async (s) => ({ name: s.node.name, row: await row(poolOf(s), epochRow()) })));
  if (found.some((f) => f.row.epoch === '0' && f.row.leader !== configured[0].name)) {
    await Promise.all(sources.map((s) => rows(poolOf(s), recordInitialLeader(configured[0].name))));
    found = await Promise.all(sources.map(async (s) => ({ name: s.node.name, row: await row(poolOf(s), epochRow()) })));
  }
  const chosen = highest(found.map((f) => f.row));
  const leader = chosen.leader!;
  if (!configured.some((node) => node.name === leader)) {
    throw new StartupError(
      `the nodes record "${leader}" as the leader of epoch ${chosen.epoch}, but REPLICATION_NODES does not list it: ` +
        `add ${leader} (with its URL) to REPLICATION_NODES`,
    );
  }
  if (chosen.state === 'promoting') {
    log.warn(
      { epoch: chosen.epoch, leader },
      `a promotion of ${leader} was left unfinished: writes fail until promote(node: "${leader}") is run again`,
    );
  }
  const deposed = found.find((f) => f.row.epoch === chosen.epoch && f.row.previous && f.row.previous !== leader)?.row.previous ?? undefined;
  return { epoch: BigInt(chosen.epoch), leader, byNode: new Map(found.map((f) => [f.name, BigInt(f.row.epoch)])), deposed };
}

/** The record with the highest epoch; at equal epochs, a finished promotion's. */
export function highest(records: EpochRow[]): EpochRow {
  return records.reduce((best, r) => {
    const a = BigInt(r.epoch);
    const b = BigInt(best.epoch);
    if (a !== b) return a > b ? r : best;
    return best.state !== 'active' && r.state === 'active' ? r : best;
  });
}
