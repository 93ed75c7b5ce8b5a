import { IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, Int } from 'type-graphql';
import { ReadFrom } from '../cluster-api/read-from.input';
import { PAGE } from '../employee/employee.args';
import { CreateDepartmentInput, CreateDepartmentWithEmployeesInput, UpdateDepartmentInput } from './department.inputs';

@ArgsType()
export class DepartmentIdArgs {
  @Field(() => Int)
  @Min(1, { message: 'id must be at least 1' })
  id!: number;
}

@ArgsType()
export class DepartmentArgs extends DepartmentIdArgs {
  @Field(() => ReadFrom, { nullable: true })
  @IsOptional()
  @ValidateNested()
  readFrom?: ReadFrom;
}

@ArgsType()
export class DepartmentsArgs {
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

  @Field(() => Int, { nullable: true, description: 'Only departments with an id greater than this (the last id of the previous page).' })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'after must not be negative' })
  after?: number;
}

@ArgsType()
export class CreateDepartmentArgs {
  @Field(() => CreateDepartmentInput)
  @ValidateNested()
  input!: CreateDepartmentInput;
}

@ArgsType()
export class UpdateDepartmentArgs extends DepartmentIdArgs {
  @Field(() => UpdateDepartmentInput)
  @ValidateNested()
  input!: UpdateDepartmentInput;
}

@ArgsType()
export class CreateDepartmentWithEmployeesArgs {
  @Field(() => CreateDepartmentWithEmployeesInput)
  @ValidateNested()
  input!: CreateDepartmentWithEmployeesInput;
}
