import type { Logger } from '../../logger';
import type { FollowerNode, LeaderNode } from '../nodes/cluster-node';
import { NodeBusyError, type NodeLocks } from '../nodes/node-lock';
import { transition } from '../nodes/transitions';
import { describeFailure, literal, rows, type Runner } from '../sql/sql';
import { divergenceMark, setDivergenceMark, type MarkKind } from '../sql/mark-statements';
import { type Statement } from '../sql/statement';

/**
 * Which followers a write may leave out, kept on the leader so that every server sharing the
 * cluster goes by the same record (syncrep_excluded; see migration 0006). A follower leaves the
 * write set marked first (on itself: no server reads from it, no promotion picks it), then
 * recorded on the leader; it comes back only through its repairer, which deletes the record
 * (waiting for every commit that left it out, as each holds the record FOR SHARE), replays what
 * those commits wrote, and clears the mark. Both ends run under the follower's node lock.
 */

/** Who leads which epoch: where the write-set record lives (the Cluster, or a promotion's new term). */
export interface LeaderTerm {
  readonly leader: LeaderNode;
  readonly epoch: bigint;
}

/** What marking a follower or reconciling the record needs: the leader's term and the node locks. */
export interface MarkingDeps {
  cluster: LeaderTerm;
  locks: NodeLocks;
  log: Logger;
}

/** Records on the leader that writes at `epoch` may leave `node` out (a record of an older epoch is replaced). */
export const recordExcluded = (node: string, epoch: bigint, reason: string): Statement<never> => ({
  text: `INSERT INTO syncrep_excluded (node, epoch, reason) VALUES ($1, $2, $3)
           ON CONFLICT (node) DO UPDATE SET epoch = EXCLUDED.epoch, reason = EXCLUDED.reason, since = clock_timestamp()`,
  values: [node, epoch.toString(), reason],
});

/** Deletes the record: waits for the commits in flight that left `node` out, and makes every later one fail (SR005). */
export const deleteExcluded = (node: string): Statement<never> => ({
  text: 'DELETE FROM syncrep_excluded WHERE node = $1',
  values: [node],
});

/**
 * SQL inlined into the leader's commit message of a write that leaves `nodes` out: raises SR005
 * unless each is recorded as left out at `epoch`, and holds the records FOR SHARE until COMMIT.
 */
export function checkExcludedSql(epoch: bigint, nodes: readonly string[]): string {
  return `SELECT syncrep_check_excluded(${epoch}, ARRAY[${nodes.map((n) => literal(n)).join(', ')}]::text[])`;
}

/** SQL inlined into a quorum commit that leaves `nodes` out: records each at `epoch` (migration 0006). */
export function noteExcludedSql(epoch: bigint, nodes: readonly string[]): string {
  return `SELECT syncrep_note_excluded(${epoch}, ARRAY[${nodes.map((n) => literal(n)).join(', ')}]::text[])`;
}

/** Takes `follower` out of the write set: marked on itself, then recorded on the leader. The caller holds its node lock. */
export async function leaveWriteSet(cluster: LeaderTerm, follower: FollowerNode, kind: MarkKind, reason: string): Promise<void> {
  await rows(follower.pool, setDivergenceMark(reason, kind));
  await recordOnLeader(cluster.leader.pool, follower.name, cluster.epoch, reason);
}

/** Records on the leader a follower left out at `epoch` (the promotion's, for the nodes it deposes or leaves behind). */
export async function recordOnLeader(leader: Runner, node: string, epoch: bigint, reason: string): Promise<void> {
  await rows(leader, recordExcluded(node, epoch, reason));
}

/**
 * After a commit was refused for leaving out followers the leader does not record as left out
 * (SR005): each one still marked on its node is recorded again (a promotion started a new epoch
 * without its record, say); each one no longer marked was repaired by another server and put back
 * in the write set, so it takes live writes here again and catches up (OUT_OF_SYNC). One busy
 * with another actor is left for the next refusal.
 */
export async function reconcileLeftOut(deps: MarkingDeps, followers: readonly FollowerNode[]): Promise<void> {
  const { cluster, locks, log } = deps;
  for (const follower of followers) {
    try {
      await locks.exclusively(follower, 'checking whether it is still left out', async () => {
        const [mark] = await rows(follower.pool, divergenceMark());
        if (mark) await recordOnLeader(cluster.leader.pool, follower.name, cluster.epoch, `marked ${mark.kind}: ${mark.reason}`);
        else
          transition(
            follower,
            { kind: 'repaired-elsewhere', reason: 'put back in the write set by another server: catching up here' },
            log,
          );
      });
    } catch (error) {
      if (!(error instanceof NodeBusyError))
        log.warn({ node: follower.name, failure: describeFailure(error) }, 'could not check a follower left out of writes');
    }
  }
}
