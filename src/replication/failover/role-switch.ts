import type { Logger } from '../../logger';
import type { Cluster } from '../nodes/cluster';
import { transition } from '../nodes/transitions';

/** What a finished promotion changes in this server: who leads which epoch, and what each follower must do next. */
export interface RoleChange {
  leader: string;
  epoch: bigint;
  /** The deposed leader. */
  previous: string;
  /** Nodes that accepted the new epoch. */
  reached: readonly string[];
  /** Why the event says what it says (allowDataLoss, promoted elsewhere). */
  note: string;
}

/**
 * Moves the roles in this server after a promotion: the deposed leader and any follower the
 * promotion did not reach are rebuilt before they serve (they may hold writes no leader kept),
 * reached followers catch up from the new leader, and PROMOTED is announced. A no-op when this
 * server already has `leader` leading `epoch`.
 */
export function switchRoles(cluster: Cluster, change: RoleChange, log: Logger): void {
  const { leader, epoch, previous, reached } = change;
  const wasLeader = cluster.leader.name;
  if (wasLeader === leader && cluster.epoch === epoch) return;
  const before = cluster.byName(leader)?.state.kind;
  const deposed = `deposed leader of the epoch before ${epoch}: rebuilt before it rejoins`;
  cluster.switchLeader(leader, epoch, { kind: 'NEEDS_RESYNC', reason: deposed });
  for (const follower of cluster.followers) {
    if (follower.name === previous || follower.name === wasLeader) {
      transition(follower, { kind: 'epoch-missed', reason: deposed }, log);
    } else if (reached.includes(follower.name)) {
      transition(follower, { kind: 'leader-changed', reason: `${leader} became the leader (epoch ${epoch}): catching up from it` }, log);
    } else {
      transition(
        follower,
        { kind: 'epoch-missed', reason: `not reached by the promotion to epoch ${epoch}: rebuilt before it rejoins` },
        log,
      );
    }
  }
  const { leader: now } = cluster;
  now.sink.promoted(now.name, before, now.state.kind, `leader of epoch ${epoch} (${change.note})`);
}
