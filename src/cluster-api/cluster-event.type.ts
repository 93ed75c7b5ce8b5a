import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { CLUSTER_EVENT_KINDS, type ClusterEvent as Event, type ClusterEventKind as Kind } from '../replication/events/cluster-events';
import type { NodeStateName } from '../replication/nodes/node-state';
import { NodeState } from './cluster-node.type';

/** The GraphQL enum ClusterEventKind: the replication layer's event kinds, declared once there. */
export const ClusterEventKind = Object.fromEntries(Object.keys(CLUSTER_EVENT_KINDS).map((name) => [name, name])) as { [K in Kind]: K };

registerEnumType(ClusterEventKind, {
  name: 'ClusterEventKind',
  description: 'What happened to a node.',
  valuesConfig: Object.fromEntries(Object.entries(CLUSTER_EVENT_KINDS).map(([name, description]) => [name, { description }])),
});

@ObjectType({ description: 'Something that happened to one node, as this server saw it happen.' })
export class ClusterEvent {
  @Field(() => ClusterEventKind)
  kind!: Kind;

  @Field({ description: 'The node, by name as listed by `nodes`.' })
  node!: string;

  @Field(() => NodeState, { nullable: true, description: 'Its state before.' })
  from?: NodeStateName;

  @Field(() => NodeState, {
    nullable: true,
    description: 'Its state now (the same as `from` for a RESYNC_STARTED on a follower that already needed a rebuild).',
  })
  to?: NodeStateName;

  @Field({
    nullable: true,
    description:
      'Why, as PostgreSQL, the network or syncrep worded it. Admin only, as `nodes.lastError`: null unless the connection ' +
      'carries the admin token (graphql-ws connection params `{ "authorization": "Bearer <ADMIN_TOKEN>" }`).',
  })
  reason?: string;

  @Field({ description: 'When this server saw it (ISO 8601).' })
  at!: string;

  /** The GraphQL view of `event`; `showReason` is for operators only (the text can name hosts, users and SQL). */
  static from(event: Event, showReason: boolean): ClusterEvent {
    return {
      kind: event.kind,
      node: event.node,
      from: event.from,
      to: event.to,
      reason: showReason ? event.reason : undefined,
      at: event.at.toISOString(),
    };
  }
}
