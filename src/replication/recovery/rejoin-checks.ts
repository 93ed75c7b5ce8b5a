import type { Logger } from '../../logger';
import { leadsActivelyAt } from '../failover/epoch';
import type { Cluster } from '../nodes/cluster';
import type { FollowerNode } from '../nodes/cluster-node';
import { SchemaMismatch, schemaDifferenceOf } from '../nodes/schema-check';
import { transition } from '../nodes/transitions';
import { epochRow, followEpoch } from '../sql/epoch-statements';
import { setDivergenceMark } from '../sql/mark-statements';
import { inTransaction, row, rows } from '../sql/sql';
import type { MembershipGate } from '../write/membership-gate';
import { leaveWriteSet } from './write-set';

/**
 * The checks a rejoin makes before it changes a follower (catch-up.ts): that the leader leads
 * actively, that the follower's tables are the leader's, that it is still a follower, and that it
 * is at the cluster's epoch (a stale one is fenced and rebuilt).
 */

/** What refusing a follower with other tables needs. */
export interface RejoinCheckDeps {
  cluster: Cluster;
  gate: MembershipGate;
  log: Logger;
}

/**
 * A follower whose replicated tables are not defined as the leader's takes no part: applies,
 * rebuilds and checksums assume the same columns in the same order. It leaves the write set
 * marked for a rebuild (it may miss writes from here on), and the monitor's rejoins check again
 * each round; once its tables match, the mark has it rebuilt, then caught up.
 */
export async function refuseOtherSchema(deps: RejoinCheckDeps, follower: FollowerNode): Promise<void> {
  const { cluster } = deps;
  const difference = await schemaDifferenceOf(cluster.leader.dataSource, follower.dataSource);
  if (!difference) return;
  const reason = `its replicated tables are not defined as the leader's: ${difference}`;
  await leaveForRebuild(deps, follower, reason, 'marked');
  throw new SchemaMismatch(reason);
}

/**
 * Marks `follower` for a rebuild on the node first (from now until it has caught up it may lack
 * acknowledged writes, so no promotion may pick it, even one run by another server after this one
 * dies), then records it on the leader, so that every server's writes may leave it out; then,
 * under the gate (no commit in flight still counts it as a target), moves its state by `event`.
 */
export async function leaveForRebuild(
  deps: RejoinCheckDeps,
  follower: FollowerNode,
  reason: string,
  event: 'marked' | 'rebuild-started',
): Promise<void> {
  const { cluster, gate, log } = deps;
  await leaveWriteSet(cluster, follower, 'rebuilding', reason);
  await gate.exclusive(async () => {
    stillFollower(cluster, follower);
    transition(follower, { kind: event, reason }, log);
  });
}

/**
 * Nothing catches up from a leader that is not the active one of this server's epoch: one a
 * promotion claimed but has not activated yet lacks what the promotion will give it.
 */
export async function leaderActive(cluster: Cluster): Promise<void> {
  const { leader, epoch } = cluster;
  const recorded = await row(leader.pool, epochRow());
  if (!leadsActivelyAt(recorded, epoch, leader.name)) {
    throw new Error(`the leader ${leader.name} is not active at epoch ${epoch} (a promotion is unfinished): nothing to catch up from yet`);
  }
}

/**
 * Stops a rejoin whose node is no longer this follower: a promotion (this server's, or one it
 * followed) made it the leader, or replaced its object meanwhile. Rebuilding a node from itself
 * would replace its tables with an older snapshot of its own.
 */
export function stillFollower(cluster: Cluster, follower: FollowerNode): void {
  if (!cluster.followers.includes(follower)) throw new Error(`${follower.name} is no longer this follower (the roles moved)`);
}

/**
 * A follower a promotion did not reach is still at an older epoch, and may hold writes of it that
 * no leader kept (decided by the deposed leader, never acknowledged). It is fenced to the current
 * epoch (its prepared transactions are then settled by the current leader's log) and rebuilt.
 * Returns why, or undefined for a follower at the current epoch. A follower at a newer epoch
 * means this server was left behind by a promotion: it touches nothing.
 */
export async function fenceIfStale(cluster: Cluster, follower: FollowerNode): Promise<string | undefined> {
  const { epoch, leader } = cluster;
  const recorded = BigInt((await row(follower.pool, epochRow())).epoch);
  follower.recordedEpoch = recorded;
  if (recorded > epoch) throw new Error(`${follower.name} is at epoch ${recorded}, newer than this server's ${epoch}`);
  if (recorded === epoch) return undefined;
  const reason = `it was at epoch ${recorded}, the cluster is at ${epoch}: rebuilt in case it holds writes no leader kept`;
  // Marked in the same transaction: once fenced, its epoch no longer says a rebuild is due, and
  // a rejoin that fails after this step (or a server that dies) must leave it to be rebuilt.
  await inTransaction(follower.pool, async (client) => {
    await rows(client, setDivergenceMark(reason, 'rebuilding'));
    await rows(client, followEpoch(epoch, leader.name));
  });
  follower.recordedEpoch = epoch;
  return reason;
}
