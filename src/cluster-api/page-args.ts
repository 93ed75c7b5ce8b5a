import { IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';
import { ReadFrom } from './read-from.input';

/** Page size of a list query when `first` is not given, and the most it may ask for. */
export const PAGE = { default: 100, max: 1000 } as const;

/** The arguments of every list query: the node to read from, and a page of rows ordered by id. */
@ArgsType()
export class PageArgs {
  @Field(() => ReadFrom, { nullable: true })
  @IsOptional()
  @ValidateNested()
  readFrom?: ReadFrom;

  @Field(() => Int, { nullable: true, description: `Page size: default ${PAGE.default}, at most ${PAGE.max}.` })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'first must be at least 1' })
  @Max(PAGE.max, { message: `first must be at most ${PAGE.max}` })
  first?: number;

  @Field(() => Int, { nullable: true, description: 'Only rows with an id greater than this (the last id of the previous page).' })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'after must not be negative' })
  after?: number;
}
