import { Ctx, Query, Resolver } from 'type-graphql';
import { isAdmin } from '../server/admin-guard';
import type { AppContext } from '../server/context';
import { ClusterNode } from './cluster-node.type';

@Resolver(() => ClusterNode)
export class ClusterResolver {
  @Query(() => [ClusterNode], {
    description: 'Every node, leader first, with its role, state and lag (and, for operators, its last error).',
  })
  async nodes(@Ctx() ctx: AppContext): Promise<ClusterNode[]> {
    const lags = await ctx.replication.lags();
    const admin = isAdmin(ctx);
    return ctx.replication.nodes().map((node) => ClusterNode.from(node, lags.get(node.name), admin, ctx.replication.epoch));
  }
}
