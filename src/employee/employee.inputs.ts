import { IsInt, IsNotEmpty, IsOptional, Max, MaxLength, Min } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { IsStorableText } from '../validation/storable-text';

/** Limits on employee fields, shared by every input that carries them. */
export const EMPLOYEE_LIMITS = { nameMaxLength: 200, salaryMax: 2_147_483_647 } as const;

@InputType({ description: 'A new employee. The id is chosen by the client and must be unused.' })
export class CreateEmployeeInput {
  @Field(() => Int)
  @IsInt()
  @Min(1, { message: 'id must be at least 1' })
  id!: number;

  @Field()
  @IsNotEmpty({ message: 'name must not be empty' })
  @IsStorableText()
  @MaxLength(EMPLOYEE_LIMITS.nameMaxLength, { message: `name must be at most ${EMPLOYEE_LIMITS.nameMaxLength} characters` })
  name!: string;

  @Field(() => Int)
  @IsInt()
  @Min(0, { message: 'salary must not be negative' })
  @Max(EMPLOYEE_LIMITS.salaryMax)
  salary!: number;

  @Field(() => Int, { nullable: true, description: 'The department the employee joins; it must exist.' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'departmentId must be at least 1' })
  departmentId?: number | null;
}

@InputType({ description: 'Fields to change; at least one must be given.' })
export class UpdateEmployeeInput {
  @Field({ nullable: true })
  @IsOptional()
  @IsNotEmpty({ message: 'name must not be empty' })
  @IsStorableText()
  @MaxLength(EMPLOYEE_LIMITS.nameMaxLength, { message: `name must be at most ${EMPLOYEE_LIMITS.nameMaxLength} characters` })
  name?: string;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'salary must not be negative' })
  salary?: number;

  @Field(() => Int, { nullable: true, description: 'The department to move to; an explicit null clears it.' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'departmentId must be at least 1' })
  departmentId?: number | null;
}
