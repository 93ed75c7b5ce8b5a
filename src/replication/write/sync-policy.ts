import type { SyncMode } from '../../config/settings';
import type { FollowerNode } from '../nodes/cluster-node';
import { UnreachableCaseError } from '../../errors/unreachable';

/**
 * Which followers a write goes to, and how many must prepare before the leader may commit.
 * - `all`: every follower must prepare, whatever its state (down, catching up): no write is ever
 *   acknowledged without one, so none ever misses a write and there is nothing to replay out of
 *   order. Only a follower being rebuilt from a snapshot, or known to have diverged, is left out.
 * - `quorum k`: writes go to the IN_SYNC followers and commit once k of them prepared; a follower
 *   that misses one is marked OUT_OF_SYNC and left out until it has caught up.
 */
export class SyncPolicy {
  constructor(readonly mode: SyncMode) {}

  targets(followers: readonly FollowerNode[]): FollowerNode[] {
    switch (this.mode.kind) {
      case 'all':
        // A diverged follower would refuse (or worse, accept over different data) what it is sent.
        return followers.filter((f) => f.state.kind !== 'NEEDS_RESYNC' && f.state.kind !== 'DIVERGED');
      case 'quorum':
        return followers.filter((f) => f.state.kind === 'IN_SYNC');
      default:
        throw new UnreachableCaseError(this.mode, 'sync mode');
    }
  }

  /** How many of `targets` followers must prepare. */
  required(targets: number): number {
    return this.mode.kind === 'all' ? targets : this.mode.quorum;
  }
}
