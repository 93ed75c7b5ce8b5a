import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The tutorial's `emp` table, one row per employee, identical on every node. */
@Entity({ name: 'emp' })
@ObjectType({ description: 'An employee, as stored in the `emp` table on every node.' })
export class Employee {
  @PrimaryColumn({ type: 'int' })
  @Field(() => Int)
  id!: number;

  @Column({ type: 'text' })
  @Field()
  name!: string;

  @Column({ type: 'int' })
  @Field(() => Int)
  salary!: number;
}
