import { Field, InputType, Int, registerEnumType } from 'type-graphql';
import { IsInt, IsOptional, Matches, Min, ValidateBy } from 'class-validator';

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

/** Largest position PostgreSQL's bigint holds. */
const MAX_POSITION = 2n ** 63n - 1n;

/** A position as mutations return it: a decimal string (leading zeros allowed) of a bigint PostgreSQL can hold. */
function IsPosition(): PropertyDecorator {
  return ValidateBy({
    name: 'isPosition',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && /^[0-9]{1,20}$/.test(value) && BigInt(value) <= MAX_POSITION,
      defaultMessage: () =>
        `atLeast must be a position as a mutation returned it: a string of decimal digits, from 0 to ${MAX_POSITION} ` +
        '(e.g. "00000000000000000042")',
    },
  });
}

@InputType({
  description:
    'Where a query reads from. Give a node by name, a role, or nothing for the default (followers first); ' +
    'and, to include a write or to bound staleness, atLeast or maxLagMs.',
})
export class ReadFrom {
  @Field({ nullable: true, description: 'A node name as listed by `nodes`.' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,63}$/, { message: 'node must be a node name as listed by the nodes query' })
  node?: string;

  @Field(() => ReadRole, { nullable: true })
  @IsOptional()
  role?: ReadRole;

  @Field({
    nullable: true,
    description:
      "Read-your-writes: a mutation's `position`. Only a node that has applied that write serves the read, checked in the " +
      "read's own transaction on that node. The nodes that may serve are asked in turn (followers first, then the leader, " +
      'which has every acknowledged write); those that lack it are asked again for up to READ_WAIT_MS. None in time: ' +
      'POSITION_NOT_REACHED.',
  })
  @IsOptional()
  @IsPosition()
  atLeast?: string;

  @Field(() => Int, {
    nullable: true,
    description:
      'Bounded staleness: skip followers that lag the leader by more than this many ms, as the health monitor last measured ' +
      '(`nodes.lagMs`, `lagMeasuredAt`); a follower not measured yet is skipped too. The leader lags 0.',
  })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'maxLagMs must be 0 or more (milliseconds)' })
  maxLagMs?: number;
}
