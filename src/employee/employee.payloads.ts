import { Field, ObjectType } from 'type-graphql';
import { Employee } from './employee.entity';

@ObjectType()
export abstract class WritePayload {
  @Field({ description: 'Replication position of the commit: opaque, fixed-width, strictly increasing (compare as strings).' })
  position!: string;

  @Field(() => [String], { description: 'Nodes that committed the write: the leader, then each follower.' })
  committedOn!: string[];
}

@ObjectType({ description: 'Result of a single-employee write.' })
export class EmployeePayload extends WritePayload {
  @Field(() => Employee, { description: 'The row as committed (for a delete: as it was).' })
  employee!: Employee;
}

@ObjectType({ description: 'Result of a many-employee write.' })
export class EmployeesPayload extends WritePayload {
  @Field(() => [Employee])
  employees!: Employee[];
}
