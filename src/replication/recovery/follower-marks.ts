import type { Logger } from '../../logger';
import type { FollowerNode } from '../nodes/cluster-node';
import { MARK_WAIT_MS, NodeBusyError } from '../nodes/node-lock';
import { transition } from '../nodes/transitions';
import { describeFailure, isServerError } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';
import { leaveWriteSet, type LeaderTerm, type MarkingDeps } from './write-set';

/**
 * Taking a follower out of service, marked on the node itself so that every server keeps it out:
 * behind (catch-up brings it back) or diverged (only a rebuild does). Used by the write path (a
 * refused or missed write), the health monitor, catch-up and the consistency check.
 */

/** True for a follower's refusal to apply row images because its rows differ from the leader's. */
export function isDivergence(error: unknown): boolean {
  return isServerError(error) && error.code === SqlState.Diverged;
}

/**
 * A follower that refused a write for lack of an earlier one, or that a write commits without
 * (`missed-write`, quorum mode), stops serving reads here at once,
 * and, once marked `behind` on the node, in every other server by its next health round; it is
 * left out of writes (recorded on the leader) until catch-up has replayed what it lacks.
 */
export async function markBehind(
  deps: MarkingDeps,
  node: FollowerNode,
  reason: string,
  event: 'behind' | 'missed-write' = 'behind',
): Promise<void> {
  const { cluster, locks, log } = deps;
  if (!transition(node, { kind: event, reason }, log)) return;
  try {
    await locks.exclusively(node, 'marking it behind', () => leaveWriteSet(cluster, node, 'behind', reason), MARK_WAIT_MS);
  } catch (error) {
    // Being repaired by another actor, whose mark stands; or unreachable: the next finding marks it.
    if (!(error instanceof NodeBusyError))
      log.warn({ node: node.name, failure: describeFailure(error) }, 'could not mark the follower behind');
    return;
  }
  transition(node, { kind: 'marked', reason: `marked behind on the node: ${reason}` }, log);
}

/**
 * markDiverged under the follower's node lock. A node another actor is repairing is only left out
 * here (NEEDS_RESYNC): its repair replaces what was judged, and the next finding marks it again.
 */
export async function markOut(deps: MarkingDeps, node: FollowerNode, reason: string): Promise<void> {
  try {
    await deps.locks.exclusively(node, 'marking it diverged', () => markDiverged(deps.cluster, node, reason, deps.log), MARK_WAIT_MS);
  } catch (error) {
    if (!(error instanceof NodeBusyError)) throw error;
    transition(node, { kind: 'marked', reason: `found diverged while another actor repairs it: ${reason}` }, deps.log);
  }
}

/**
 * Takes a follower out of service as DIVERGED, after marking it so on the node itself
 * (syncrep_divergence), so that a restarted server, every other server sharing the cluster, and
 * any promotion keep it out too; only a rebuild clears the mark. Then the leader records it left
 * out of writes (recovery/write-set.ts). The caller holds the follower's node lock (markOut). The mark comes first: writes stop
 * waiting for a DIVERGED follower, and one left out of writes must never look promotable. A mark
 * that cannot be written (the node is unreachable) makes it DOWN instead, which in sync mode all
 * still holds writes back; the next finding marks it again.
 */
export async function markDiverged(cluster: LeaderTerm, node: FollowerNode, reason: string, log: Logger): Promise<void> {
  if (node.state.kind === 'DIVERGED') {
    transition(node, { kind: 'diverged', reason }, log);
    return;
  }
  try {
    await leaveWriteSet(cluster, node, 'diverged', reason);
  } catch (error) {
    log.warn({ node: node.name, failure: describeFailure(error) }, 'could not mark the diverged follower on the node itself');
    transition(node, { kind: 'unreachable', reason: `found diverged (${reason}) but could not be marked: ${describeFailure(error)}` }, log);
    return;
  }
  transition(node, { kind: 'diverged', reason }, log);
}
