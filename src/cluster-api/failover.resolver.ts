import { Matches } from 'class-validator';
import { Args, ArgsType, Ctx, Field, Mutation, Resolver } from 'type-graphql';
import { requireAdmin } from '../server/admin-guard';
import type { AppContext } from '../server/context';
import { Promotion } from './promotion.type';

@ArgsType()
export class PromoteArgs {
  @Field({ description: 'The follower to make leader, by name as listed by `nodes`.' })
  @Matches(/^[A-Za-z0-9_-]{1,63}$/, { message: 'node must be a node name as listed by the nodes query' })
  node!: string;

  @Field({
    defaultValue: false,
    description:
      'Promote even when the reachable nodes cannot prove the follower would hold every acknowledged write (too few followers ' +
      'reachable, the follower being rebuilt or diverged). Acknowledged writes may be lost; the answer lists why.',
  })
  allowDataLoss!: boolean;
}

/** Operator-only: leader failover. Validates and delegates. */
@Resolver()
export class FailoverResolver {
  @Mutation(() => Promotion, {
    description:
      'Admin. Makes a follower the leader of a new epoch without losing an acknowledged write, and fences the old leader so it ' +
      'can never take a write as leader again. PROMOTION_UNSAFE (nothing changed) when that cannot be proven; safe to run again ' +
      'after any failure.',
  })
  async promote(@Args() { node, allowDataLoss }: PromoteArgs, @Ctx() ctx: AppContext): Promise<Promotion> {
    requireAdmin(ctx);
    return Promotion.from(await ctx.replication.promote(node, allowDataLoss));
  }
}
