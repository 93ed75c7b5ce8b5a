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

@ObjectType({ description: 'One PostgreSQL node as this server sees it now.' })
export class ClusterNode extends NodeIdentity {
  @Field({ nullable: true, description: 'Highest replication position applied (followers) or written (leader).' })
  appliedPosition?: string;

  @Field(() => Int, { nullable: true, description: 'How many positions the follower is behind the leader.' })
  lagPositions?: number;

  @Field(() => Int, {
    nullable: true,
    description: 'How long ago, in ms, the leader committed the oldest write this follower lacks (0 when caught up).',
  })
  lagMs?: number;

  @Field({
    nullable: true,
    description:
      'Last failure seen talking to this node, as PostgreSQL or the network worded it. Admin only: null unless the request carries `Authorization: Bearer <ADMIN_TOKEN>`.',
  })
  lastError?: string;

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
   * The GraphQL view of `node`. `showLastError` is for operators only: the raw text can name
   * hosts, users and SQL.
   */
  static from(
    node: PgNode,
    lag: { positions: number; ms: number; applied: bigint } | undefined,
    showLastError: boolean,
    clusterEpoch: bigint,
  ): ClusterNode {
    return {
      name: node.name,
      role: node.role as NodeRole,
      state: node.state.kind,
      appliedPosition: lag ? formatPosition(lag.applied) : undefined,
      lagPositions: lag?.positions,
      lagMs: lag?.ms,
      lastError: showLastError ? node.lastError : undefined,
      lastContact: node.lastContact?.toISOString(),
      epoch: node.recordedEpoch?.toString(),
      clusterEpoch: clusterEpoch.toString(),
    };
  }
}
