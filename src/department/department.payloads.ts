import { Field, ObjectType } from 'type-graphql';
import { WritePayload } from '../employee/employee.payloads';
import { Department } from './department.entity';

@ObjectType({ description: 'Result of a department write.' })
export class DepartmentPayload extends WritePayload {
  @Field(() => Department, { description: 'The row as committed (for a delete: as it was).' })
  department!: Department;
}
