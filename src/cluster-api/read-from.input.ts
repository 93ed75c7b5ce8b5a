import { Field, InputType, registerEnumType } from 'type-graphql';
import { IsOptional, Matches } from 'class-validator';

/** Which kind of node a read may go to. */
export enum ReadRole {
  LEADER = 'LEADER',
  FOLLOWER = 'FOLLOWER',
  ANY = 'ANY',
}

registerEnumType(ReadRole, {
  name: 'ReadRole',
  description: 'LEADER reads the freshest data; FOLLOWER spreads load over in-sync followers; ANY prefers followers, then the leader.',
});

@InputType({ description: 'Where a query reads from. Give a node by name, a role, or nothing for the default (followers first).' })
export class ReadFrom {
  @Field({ nullable: true, description: 'A node name as listed by `nodes`.' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,63}$/, { message: 'node must be a node name as listed by the nodes query' })
  node?: string;

  @Field(() => ReadRole, { nullable: true })
  @IsOptional()
  role?: ReadRole;
}
