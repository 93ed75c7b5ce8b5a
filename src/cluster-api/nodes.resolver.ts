import { Ctx, Query, Resolver } from 'type-graphql';
import { isAdmin } from '../server/admin-guard';
import type { AppContext } from '../server/context';
import { ClusterNode } from './cluster-node.type';

@Resolver(() => ClusterNode)
export class ClusterResolver {
  @Query(() => [ClusterNode], {
    description:
      'Every node, leader first, with its role, state, position and lag (and, for operators, its last error), from what the ' +
      'health monitor last measured: no node is asked, so the answer never waits on one.',
  })
  nodes(@Ctx() ctx: AppContext): ClusterNode[] {
    const admin = isAdmin(ctx);
    return ctx.replication.nodes().map((node) => ClusterNode.from(node, admin, ctx.replication.epoch));
  }
}
