import type { Logger } from '../../logger';
import type { FollowerNode, LeaderNode } from '../nodes/cluster-node';
import { MARK_WAIT_MS, NodeBusyError } from '../nodes/node-lock';
import { transition } from '../nodes/transitions';
import { missingPositions } from '../log/log-scan';
import { leaveWriteSet, type LeaderTerm, type MarkingDeps } from '../recovery/write-set';
import { describeFailure, isServerError } from '../sql/sql';
import { SqlState } from '../../errors/sqlstate';

/** True for a follower's refusal to apply row images because its rows differ from the leader's. */
export function isDivergence(error: unknown): boolean {
  return isServerError(error) && error.code === SqlState.Diverged;
}

/** One follower's failed prepare, as the rule below needs it. */
export interface Refusal<N> {
  node: N;
  /** SQLSTATE of the failure, when the follower's server sent one. */
  sqlState?: string;
  /** The follower's state kind when the write was sent to it. */
  wasInSync: boolean;
}

/** What to make of a write's failed prepares. */
export type RefusalVerdict<N> =
  /** Every targeted follower (two or more) found the leader's before image wrong: the leader is the odd one out. */
  | { kind: 'leader-suspect' }
  /** These followers refused as a diverged node would; each is diverged, or merely behind (see classifyRefusals). */
  | { kind: 'followers'; suspects: N[] };

/**
 * The pure rule: a follower that was IN_SYNC and refused with SR001 is suspect. But when every
 * targeted follower, two or more, refused the same write with SR001, they agree with each other
 * and not with the leader, so the leader is suspected instead and no follower is blamed.
 */
export function judgeRefusals<N>(targets: number, refusals: readonly Refusal<N>[]): RefusalVerdict<N> {
  const diverged = refusals.filter((r) => r.sqlState === SqlState.Diverged);
  if (targets >= 2 && diverged.length === targets) return { kind: 'leader-suspect' };
  return { kind: 'followers', suspects: diverged.filter((r) => r.wasInSync).map((r) => r.node) };
}

/** True when `follower` lacks a position the leader committed above its watermark. */
async function lacksPositions(leader: LeaderNode, follower: FollowerNode): Promise<boolean> {
  for await (const { missing } of missingPositions(leader, follower, follower.watermark)) if (missing.length > 0) return true;
  return false;
}

/**
 * Applies the verdict on a write's SR001 refusals. A suspect follower that lacks a committed
 * position is only behind (another server may have left it out of a write): OUT_OF_SYNC, and
 * catch-up replays what it lacks in position order. One that lacks nothing holds rows the
 * leader does not: DIVERGED, out of service until rebuilt. Returns the followers it handled.
 */
export async function classifyRefusals(
  deps: MarkingDeps,
  targets: number,
  refusals: readonly (Refusal<FollowerNode> & { failure: string })[],
  position: bigint,
): Promise<Set<FollowerNode>> {
  const { cluster, log } = deps;
  const leader = cluster.leader;
  const verdict = judgeRefusals(targets, refusals);
  if (verdict.kind === 'leader-suspect') {
    log.error(
      { position: position.toString(), followers: refusals.map((r) => r.node.name), failures: refusals.map((r) => r.failure) },
      'every follower refused this write as diverged: the leader may hold rows they do not; no follower is marked, check with the consistency query',
    );
    return new Set();
  }
  const handled = new Set<FollowerNode>();
  for (const node of verdict.suspects) {
    const failure = refusals.find((r) => r.node === node)?.failure ?? 'refused';
    const behind = await lacksPositions(leader, node).catch(() => true);
    // Only judged while still IN_SYNC: a concurrent check or write may have moved it meanwhile.
    if (node.state.kind !== 'IN_SYNC') continue;
    handled.add(node);
    if (behind) await markBehind(deps, node, `refused position ${position} and lacks earlier writes: ${failure}`);
    else await markOut(deps, node, `refused position ${position} though it lacks no earlier write: ${failure}`);
  }
  return handled;
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
