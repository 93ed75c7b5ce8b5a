import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { formatPosition } from '../replication/write/write-outcome';
import type { PgNode } from '../replication/nodes/cluster-node';
import { NODE_STATE_NAMES, type NodeStateName } from '../replication/nodes/node-state';

export enum NodeRole {
  LEADER = 'LEADER',
  FOLLOWER = 'FOLLOWER',
}

/** The GraphQL enum NodeState: the replication layer's state names, declared once there. */
export const NodeState = Object.fromEntries(NODE_STATE_NAMES.map((name) => [name, name])) as { [K in NodeStateName]: K };

registerEnumType(NodeRole, { name: 'NodeRole' });
registerEnumType(NodeState, {
  name: 'NodeState',
  description:
    'Leader: UP or DOWN. Follower: only IN_SYNC serves reads and takes part in writes. DIVERGED: holds data the leader does not; ' +
    'out of service until `resyncNode` rebuilds it (lastError says why).',
});

/** What every view of a node starts with: which node, its role, and its state as this server sees it. */
@ObjectType()
export abstract class NodeIdentity {
  @Field()
  name!: string;

  @Field(() => NodeRole)
  role!: NodeRole;

  @Field(() => NodeState)
  state!: NodeStateName;
}

@ObjectType({
  description:
    'One PostgreSQL node as this server sees it: its state now, and its position and lag as the health monitor last measured them ' +
    '(no node is asked when `nodes` is read, so it answers at once even while a node is paused).',
})
export class ClusterNode extends NodeIdentity {
  @Field({
    nullable: true,
    description:
      'Highest replication position committed on the node (the leader) or applied (a follower), as the health monitor last read it ' +
      'from the node itself (`positionReadAt`): it survives log trimming and restarts, and stays known while other nodes are down. ' +
      'Null until the first health round after start.',
  })
  appliedPosition?: string;

  @Field({ nullable: true, description: 'When `appliedPosition` was read from the node (ISO 8601).' })
  positionReadAt?: string;

  @Field(() => Int, {
    nullable: true,
    description: "How many of the leader's committed positions above the follower's `appliedPosition` it lacked (the leader: 0).",
  })
  lagPositions?: number;

  @Field(() => Int, {
    nullable: true,
    description: 'How long ago, in ms, the leader had committed the oldest write this follower lacked (0 when caught up).',
  })
  lagMs?: number;

  @Field({
    nullable: true,
    description:
      'When `lagPositions` and `lagMs` were measured (ISO 8601): every health round that reaches the leader. While the leader ' +
      'does not answer they keep their last values, and this time shows how old they are.',
  })
  lagMeasuredAt?: string;

  @Field({
    nullable: true,
    description:
      'Last failure seen talking to this node, as PostgreSQL or the network worded it. It is kept after the node recovers: ' +
      'compare `lastErrorAt` with `stateSince`. Admin only: null unless the request carries `Authorization: Bearer <ADMIN_TOKEN>`.',
  })
  lastError?: string;

  @Field({
    nullable: true,
    description:
      'When `lastError` was seen (ISO 8601; public, unlike the text). Before `stateSince` on an UP or IN_SYNC node: a failure it has recovered from.',
  })
  lastErrorAt?: string;

  @Field({
    description: 'Since when the node has been in `state` as this server sees it (ISO 8601; at most the time this server started).',
  })
  stateSince!: string;

  @Field({ nullable: true, description: 'When this server last heard from the node (ISO 8601).' })
  lastContact?: string;

  @Field({
    nullable: true,
    description:
      'The epoch recorded on the node itself at the last check (null: not read yet). A node behind `clusterEpoch` missed a promotion.',
  })
  epoch?: string;

  @Field({ description: 'The epoch this server writes in: it grows by one with each promotion; the leader leads it.' })
  clusterEpoch!: string;

  /**
   * The GraphQL view of `node`, from what this server already knows (nothing is read from a node).
   * `showLastError` is for operators only: the raw text can name hosts, users and SQL.
   */
  static from(node: PgNode, showLastError: boolean, clusterEpoch: bigint): ClusterNode {
    return {
      name: node.name,
      role: node.role as NodeRole,
      state: node.state.kind,
      appliedPosition: node.progress ? formatPosition(node.progress.position) : undefined,
      positionReadAt: node.progress?.at.toISOString(),
      lagPositions: node.lag?.positions,
      lagMs: node.lag?.ms,
      lagMeasuredAt: node.lag?.at.toISOString(),
      lastError: showLastError ? node.lastError : undefined,
      lastErrorAt: node.lastErrorAt?.toISOString(),
      stateSince: node.stateSince.toISOString(),
      lastContact: node.lastContact?.toISOString(),
      epoch: node.recordedEpoch?.toString(),
      clusterEpoch: clusterEpoch.toString(),
    };
  }
}
