import { ArrayMaxSize, IsNotEmpty, IsOptional, MaxLength, ValidateNested } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { CreateEmployeeInput } from '../employee/employee.inputs';
import { IsStorableText } from '../validation/storable-text';

/** Limits on department fields, shared by every input that carries them. */
export const DEPARTMENT_LIMITS = { nameMaxLength: 200, employeesMax: 1000 } as const;

@InputType({ description: 'A new department; its id is generated.' })
export class CreateDepartmentInput {
  @Field()
  @IsNotEmpty({ message: 'name must not be empty' })
  @IsStorableText()
  @MaxLength(DEPARTMENT_LIMITS.nameMaxLength, { message: `name must be at most ${DEPARTMENT_LIMITS.nameMaxLength} characters` })
  name!: string;
}

@InputType({ description: 'Fields to change; at least one must be given.' })
export class UpdateDepartmentInput {
  @Field({ nullable: true })
  @IsOptional()
  @IsNotEmpty({ message: 'name must not be empty' })
  @IsStorableText()
  @MaxLength(DEPARTMENT_LIMITS.nameMaxLength, { message: `name must be at most ${DEPARTMENT_LIMITS.nameMaxLength} characters` })
  name?: string;
}

@InputType({ description: 'A new department and its employees, written in one atomic write: all of them, or nothing.' })
export class CreateDepartmentWithEmployeesInput extends CreateDepartmentInput {
  @Field(() => [CreateEmployeeInput], { description: 'Each joins the new department (a departmentId given here is refused).' })
  @ArrayMaxSize(DEPARTMENT_LIMITS.employeesMax, { message: `employees may hold at most ${DEPARTMENT_LIMITS.employeesMax} employees` })
  @ValidateNested({ each: true })
  employees!: CreateEmployeeInput[];
}
