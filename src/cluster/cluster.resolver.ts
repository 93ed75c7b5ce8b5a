import { Ctx, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../server/context';
import { ClusterNode } from './cluster-node.type';

@Resolver(() => ClusterNode)
export class ClusterResolver {
  @Query(() => [ClusterNode], { description: 'Every node, leader first, with its role, state and lag.' })
  async nodes(@Ctx() ctx: AppContext): Promise<ClusterNode[]> {
    const lags = await ctx.replication.lags();
    return ctx.replication.nodes().map((node) => ClusterNode.from(node, lags.get(node.name)));
  }
}
