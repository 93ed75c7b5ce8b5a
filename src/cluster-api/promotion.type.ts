import { Field, Int, ObjectType } from 'type-graphql';
import type { PromotionResult } from '../replication/failover/promoter';

@ObjectType({ description: 'What a promotion did.' })
export class Promotion {
  @Field({ description: 'The epoch the new leader leads (one more than before, unless the node already led it).' })
  epoch!: string;

  @Field({ description: 'The new leader.' })
  leader!: string;

  @Field({ description: 'The leader it replaced: it is fenced (refuses every write as leader) and rebuilt before it rejoins.' })
  previousLeader!: string;

  @Field(() => [String], { description: 'Nodes that accepted the new epoch and were read.' })
  reached!: string[];

  @Field(() => [String], { description: 'Nodes not reached: each is rebuilt when it comes back.' })
  unreached!: string[];

  @Field(() => Int, { description: 'Prepared transactions committed: some reached node had committed them.' })
  committedInDoubt!: number;

  @Field(() => Int, {
    description: 'Prepared transactions rolled back: no reached node had committed them, so no client was told they succeeded.',
  })
  rolledBackInDoubt!: number;

  @Field(() => Int, { description: 'Writes the new leader lacked and took from the other reached nodes.' })
  adopted!: number;

  @Field({ description: 'Whether allowDataLoss was asked for.' })
  allowDataLoss!: boolean;

  @Field(() => [String], {
    description: 'Each safety rule allowDataLoss let through: acknowledged writes may be lost for these reasons. Empty when none.',
  })
  possiblyLost!: string[];

  @Field({ description: 'False when the node already led this epoch (the promotion had finished before).' })
  changed!: boolean;

  @Field(() => Int)
  durationMs!: number;

  static from(result: PromotionResult): Promotion {
    return { ...result, epoch: result.epoch.toString() };
  }
}
