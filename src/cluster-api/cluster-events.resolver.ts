import { Ctx, Resolver, Root, Subscription } from 'type-graphql';
import { STREAM_CAPACITY, type ClusterEvent as Event } from '../replication/events/cluster-events';
import { isAdmin } from '../server/admin-guard';
import type { AppContext } from '../server/context';
import { ClusterEvent } from './cluster-event.type';

/** Live cluster events, over graphql-ws (see subscription-server.ts). */
@Resolver()
export class ClusterEventsResolver {
  @Subscription(() => ClusterEvent, {
    description:
      'Every node state change (with its reason, for operators), divergence found, resync started and finished, and promotion, ' +
      'as this server sees them, from the moment of subscribing. Served over WebSocket (graphql-ws) on the same URL as queries. ' +
      `A client that falls ${STREAM_CAPACITY} events behind gets SUBSCRIBER_TOO_SLOW and should subscribe again and read \`nodes\`.`,
    subscribe: ({ context }) => (context as AppContext).events.stream(),
  })
  clusterEvents(@Root() event: Event, @Ctx() ctx: AppContext): ClusterEvent {
    return ClusterEvent.from(event, isAdmin(ctx));
  }
}
