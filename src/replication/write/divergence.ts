import type { FollowerNode, LeaderNode } from '../nodes/cluster-node';
import { missingPositions } from '../log/log-scan';
import { markBehind, markOut } from '../recovery/follower-marks';
import type { MarkingDeps } from '../recovery/write-set';
import { SqlState } from '../../errors/sqlstate';

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
