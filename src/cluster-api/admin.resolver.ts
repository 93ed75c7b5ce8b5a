import { Matches } from 'class-validator';
import { Args, ArgsType, Ctx, Field, Mutation, Query, Resolver } from 'type-graphql';
import { requireAdmin } from '../server/admin-guard';
import type { AppContext } from '../server/context';
import { ClusterNode } from './cluster-node.type';
import { ConsistencyReport } from './consistency-report.type';

@ArgsType()
export class ResyncNodeArgs {
  @Field({ description: 'A follower, by name as listed by `nodes`.' })
  @Matches(/^[A-Za-z0-9_-]{1,63}$/, { message: 'node must be a node name as listed by the nodes query' })
  node!: string;
}

/** Operator-only: comparing the nodes and rebuilding a follower. Validates and delegates. */
@Resolver()
export class AdminResolver {
  @Query(() => ConsistencyReport, {
    description:
      'Admin. Compares every IN_SYNC or DIVERGED follower with the leader, row for row, at one consistent point while writes go on. ' +
      'A follower found different becomes DIVERGED (no reads, no writes) until resyncNode rebuilds it.',
  })
  async consistency(@Ctx() ctx: AppContext): Promise<ConsistencyReport> {
    requireAdmin(ctx);
    return ConsistencyReport.from(await ctx.replication.consistency());
  }

  @Mutation(() => ClusterNode, {
    description:
      'Admin. Rebuilds a follower from a snapshot of the leader, then replays what it missed meanwhile, while writes go on; ' +
      'returns it IN_SYNC. NODE_UNAVAILABLE when it cannot be reached (its state says why); NODE_BUSY when another action held it past DB_TIMEOUT_MS.',
  })
  async resyncNode(@Args() { node }: ResyncNodeArgs, @Ctx() ctx: AppContext): Promise<ClusterNode> {
    requireAdmin(ctx);
    const rebuilt = await ctx.replication.resyncNode(node);
    return ClusterNode.from(rebuilt, true, ctx.replication.epoch);
  }
}
