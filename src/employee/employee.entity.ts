import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Department } from '../department/department.entity';

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

  @Column({ name: 'department_id', type: 'int', nullable: true })
  @Field(() => Int, { nullable: true })
  departmentId!: number | null;

  /**
   * The foreign key, for TypeORM's metadata (rebuilds copy department first); loaded by the read
   * that fetched the employee, in its snapshot (nested-reads.ts).
   */
  @ManyToOne(() => Department, (department) => department.employees, { nullable: true, onDelete: 'NO ACTION', onUpdate: 'NO ACTION' })
  @JoinColumn({ name: 'department_id' })
  department?: Department | null;
}
