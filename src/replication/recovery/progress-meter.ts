import type { FollowerNode, PgNode } from '../nodes/cluster-node';
import type { Roster } from '../nodes/cluster';
import { rows } from '../sql/sql';
import { lags } from '../sql/log-statements';

/**
 * Records the highest position a health check read from `node` itself. It is the node's own
 * record, so it is known whoever else answers (the leader paused, say). A follower's in-memory
 * position, raised by the writes it commits, is raised to it too: after a restart that is the
 * first this server learns of it.
 */
export function recordProgress(node: PgNode, position: string): void {
  const read = BigInt(position);
  node.progress = { position: read, at: new Date() };
  if (node.role === 'FOLLOWER' && read > node.appliedPosition) node.appliedPosition = read;
}

/**
 * Measures every follower's lag behind the leader in one round trip on the leader, from the
 * positions read in the round that started at `roundStart`. Only when the leader answered that
 * round: otherwise each node keeps its last lag, with the time it was measured. `nodes` and the
 * metrics read these cached values, so neither ever waits on a node.
 */
export async function measureLags(cluster: Roster, roundStart: Date): Promise<void> {
  const { leader } = cluster;
  const upto = leader.progress;
  if (!upto || upto.at.getTime() < roundStart.getTime()) return;
  const followers = cluster.followers.filter((f) => f.progress !== undefined);
  const found = await rows(leader.pool, lags(followers.map(knownApplied), upto.position));
  const at = new Date();
  leader.lag = { positions: 0, ms: 0, at };
  followers.forEach((follower, index) => {
    const { positions, ms } = found[index];
    follower.lag = { positions, ms, at };
  });
}

/**
 * The highest position this server knows `follower` applied: read from it, or raised since by a
 * write it committed here. One that stopped answering lags from its last commit, not its last read.
 */
function knownApplied(follower: FollowerNode): bigint {
  const read = follower.progress?.position ?? 0n;
  return read > follower.appliedPosition ? read : follower.appliedPosition;
}
