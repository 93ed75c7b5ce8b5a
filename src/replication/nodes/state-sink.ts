import type { NodeEvent } from './node-event';
import type { FollowerState, LeaderState, NodeStateName } from './node-state';

/**
 * Where a node's state changes are told (the server's ClusterEvents, events/cluster-events.ts):
 * set on every node of a cluster by `Cluster.listen`, carried over when a node changes role.
 */
export interface StateSink {
  /** `transition` set `to` on node `node` for `event` (also when the kind of state stayed the same). */
  moved(node: string, from: FollowerState | LeaderState, to: FollowerState | LeaderState, event: NodeEvent): void;
  /** A promotion made node `node` the leader, from state `from` to `to`. */
  promoted(node: string, from: NodeStateName | undefined, to: NodeStateName, reason: string): void;
}

/** The sink of a node no server listens to (unit tests, a cluster not yet listened to). */
export const UNHEARD: StateSink = { moved: () => undefined, promoted: () => undefined };
